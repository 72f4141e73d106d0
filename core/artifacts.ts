// References to bulk data in the artifact store. Only these travel through workflow history.
export interface ArtifactRef {
  /** Path relative to the artifact store root, '/'-separated. */
  path: string;
  /** Records in the file (lines, array items), where that means something. */
  count: number;
  sha256: string;
  bytes: number;
}
