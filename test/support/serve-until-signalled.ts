// Entry points of the fake servers run in their own process: print the URL, close on SIGINT/SIGTERM.
export function serveUntilSignalled(server: { url: string; close(): Promise<void> }): void {
  process.stdout.write(`${server.url}\n`);
  const stop = () => {
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
