// Moved to scripts/support so the benchmark can serve it too; tests keep importing from here.
export * from '../../scripts/support/fake-search-servers';
