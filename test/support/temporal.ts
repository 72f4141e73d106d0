// Moved to scripts/support so the benchmark can start a dev server too; tests keep importing from here.
export * from '../../scripts/support/temporal';
