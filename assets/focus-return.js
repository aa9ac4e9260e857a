// Focus goes back where it was when a dialog closes (WCAG 2.4.3, focus order). Radix dialogs do
// this for their own trigger buttons; Aerie opens its dialogs from state (one dialog for many rows'
// buttons), so focus would fall to <body> and a keyboard user would start again from the top.
(function () {
  const DIALOG = '[role="dialog"], [role="alertdialog"]';
  let lastOutside = null;
  document.addEventListener(
    "focusin",
    (event) => {
      const target = event.target;
      if (target instanceof HTMLElement && !target.closest(DIALOG)) lastOutside = target;
    },
    true
  );
  let dialogWasOpen = false;
  const giveBack = () => {
    const active = document.activeElement;
    if ((!active || active === document.body) && lastOutside && document.contains(lastOutside)) {
      lastOutside.focus({ preventScroll: true });
    }
  };
  const restore = () => {
    if (document.querySelector(DIALOG)) {
      dialogWasOpen = true;
      return;
    }
    if (!dialogWasOpen) return;
    dialogWasOpen = false;
    // Radix moves focus itself while its dialog unmounts (to <body> when there is no trigger),
    // sometimes a tick later: check again after it is done.
    giveBack();
    [0, 50, 150].forEach((ms) => setTimeout(giveBack, ms));
  };
  const start = () => new MutationObserver(restore).observe(document.body, { childList: true, subtree: true });
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
