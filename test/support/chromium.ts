// Headless Chromium for tests that must see a page as a browser renders it: a screenshot (PNG) and the
// DOM after parsing and scripts (--dump-dom), each from a fresh, throw-away profile. Also a small PNG
// decoder, so a test can read the screenshot's pixels with nothing but node:zlib.
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';

export const CHROMIUM = '/usr/bin/chromium';

export interface RenderOptions {
  /** Folder for the screenshot (kept: the caller owns it). */
  outDir: string;
  chromium?: string;
  /** Per browser run; the process group is killed past it. Default 60 s. */
  timeoutMs?: number;
  width?: number;
  height?: number;
}

export interface Rendered {
  png: string;
  dom: string;
}

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--hide-scrollbars',
  // One CSS pixel per screenshot pixel, whatever the host's display settings, so positions can be predicted.
  '--force-device-scale-factor=1',
];

interface RunResult {
  stdout: string;
  stderr: string;
}

async function runChromium(binary: string, args: string[], timeoutMs: number): Promise<RunResult> {
  const profile = await fs.mkdtemp(path.join(os.tmpdir(), 'fireact-chromium-'));
  try {
    return await new Promise<RunResult>((resolve, reject) => {
      // Own process group: Chromium forks zygotes and renderers, and a timeout must end all of them.
      const child = spawn(binary, [...FLAGS, `--user-data-dir=${profile}`, ...args], {
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup(child.pid);
      }, timeoutMs);
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        // Whatever helper survived its parent (it should not) goes with the group.
        killGroup(child.pid);
        const stdout = Buffer.concat(out).toString('utf8');
        const stderr = Buffer.concat(err).toString('utf8');
        if (timedOut) reject(new Error(`chromium timed out after ${timeoutMs} ms: ${tail(stderr)}`));
        else if (code !== 0) reject(new Error(`chromium exited with ${code ?? signal}: ${tail(stderr)}`));
        else resolve({ stdout, stderr });
      });
    });
  } finally {
    await fs.rm(profile, { recursive: true, force: true, maxRetries: 3, retryDelay: 100 });
  }
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group is already gone.
  }
}

/** The last lines of Chromium's stderr that say something: it logs D-Bus errors on every start in a container. */
function tail(text: string): string {
  return text
    .split('\n')
    .filter((l) => l.trim().length > 0 && !l.includes('dbus/'))
    .slice(-5)
    .join('\n');
}

/** Screenshot and rendered DOM of a local HTML file. */
export async function renderPage(htmlFile: string, opts: RenderOptions): Promise<Rendered> {
  const binary = opts.chromium ?? CHROMIUM;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const url = pathToFileURL(path.resolve(htmlFile)).href;
  const png = path.join(opts.outDir, `${path.basename(htmlFile).replace(/\.[^.]*$/, '')}.png`);
  const size = `--window-size=${opts.width ?? 1280},${opts.height ?? 2000}`;
  // Two separate runs (each with its own profile): Chromium takes one of --screenshot / --dump-dom at a time.
  const [, dom] = await Promise.all([
    runChromium(binary, [`--screenshot=${png}`, size, url], timeoutMs),
    runChromium(binary, ['--dump-dom', size, url], timeoutMs).then((r) => r.stdout),
  ]);
  await fs.access(png);
  return { png, dom };
}

export interface Image {
  width: number;
  height: number;
  /** Bytes per pixel in `data`: 3 (RGB) or 4 (RGBA). */
  channels: 3 | 4;
  data: Buffer;
}

/** Decodes an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium's screenshots are). */
export function decodePng(file: Buffer): Image {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (!file.subarray(0, 8).equals(signature)) throw new Error('not a PNG file');
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels: 3 | 4 = 3;
  const idat: Buffer[] = [];
  while (offset + 8 <= file.length) {
    const length = file.readUInt32BE(offset);
    const type = file.toString('latin1', offset + 4, offset + 8);
    const body = file.subarray(offset + 8, offset + 8 + length);
    offset += 12 + length; // length, type, body, CRC
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const [bitDepth, colorType, , , interlace] = [body[8], body[9], body[10], body[11], body[12]];
      if (bitDepth !== 8) throw new Error(`unsupported PNG bit depth ${bitDepth}`);
      if (colorType === 2) channels = 3;
      else if (colorType === 6) channels = 4;
      else throw new Error(`unsupported PNG colour type ${colorType}`);
      if (interlace !== 0) throw new Error('interlaced PNG not supported');
    } else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
  }
  if (width === 0 || height === 0) throw new Error('PNG without IHDR');
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  if (raw.length < height * (stride + 1)) throw new Error('PNG image data is short');
  const data = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = y * stride;
    const prev = y * stride - stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? data[row + i - channels] : 0;
      const b = y > 0 ? data[prev + i] : 0;
      const c = y > 0 && i >= channels ? data[prev + i - channels] : 0;
      let predictor: number;
      switch (filter) {
        case 0:
          predictor = 0;
          break;
        case 1:
          predictor = a;
          break;
        case 2:
          predictor = b;
          break;
        case 3:
          predictor = (a + b) >> 1;
          break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default:
          throw new Error(`bad PNG filter ${filter} on row ${y}`);
      }
      data[row + i] = (src[i] + predictor) & 0xff;
    }
  }
  return { width, height, channels, data };
}

export function pixel(img: Image, x: number, y: number): [number, number, number] {
  const i = (y * img.width + x) * img.channels;
  return [img.data[i], img.data[i + 1], img.data[i + 2]];
}
