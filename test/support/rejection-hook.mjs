// Preloaded (node --import) into processes the e2e tests spawn: every promise rejection that
// nobody handles is written to stderr with a mark the tests look for. It only records; it
// changes nothing about how the process handles the rejection.
process.on('unhandledRejection', (reason) => {
  const text = reason instanceof Error ? (reason.stack ?? reason.message) : String(reason);
  process.stderr.write(`UNHANDLED_REJECTION_RECORDED ${text}\n`);
});
