// Ctrl-C for long CLI work: the first asks the work to stop after the step at hand (it then
// reports what it did); a second one leaves at once.
export function interruptible(): { stopped: () => boolean; dispose: () => void } {
  let stop = false;
  const onInt = () => {
    if (stop) process.exit(130);
    stop = true;
  };
  process.on('SIGINT', onInt);
  return { stopped: () => stop, dispose: () => { process.off('SIGINT', onInt); } };
}
