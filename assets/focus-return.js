// Focus goes back where it was when a dialog closes (WCAG 2.4.3, focus order). Radix dialogs do
// this for their own trigger buttons; Aerie opens its dialogs from state (one dialog for many rows'
// buttons), so focus would fall to <body> and a keyboard user would start again from the top.
(function () {
  const DIALOG = '[role="dialog"], [role="alertdialog"]';
  const CONTROL = 'button, a[href], input, select, textarea, summary, [tabindex]';
  // The control last activated (click, Enter, Space) and the one last focused, outside dialogs.
  // Activation wins when it came shortly before the dialog: a quick Tab pressed while the dialog
  // is still on its way moves focus on the page, but the user opened it from what they activated.
  let activated = null;
  let activatedAt = 0;
  let focused = null;
  let opener = null; // frozen when a dialog appears
  let dialogWasOpen = false;

  const control = (target) => {
    if (dialogWasOpen || !(target instanceof Element) || target.closest(DIALOG)) return null;
    if (target.closest("[data-radix-focus-guard]")) return null;
    return target.closest(CONTROL);
  };
  const activate = (target) => {
    const el = control(target);
    if (el) [activated, activatedAt] = [el, performance.now()];
  };
  document.addEventListener("focusin", (event) => (focused = control(event.target) || focused), true);
  document.addEventListener("pointerdown", (event) => activate(event.target), true);
  document.addEventListener(
    "keydown",
    (event) => {
      if (event.key === "Enter" || event.key === " ") activate(document.activeElement);
    },
    true
  );

  const target = () => {
    if (!opener) return null;
    if (document.contains(opener)) return opener;
    // Re-rendered behind the dialog: the control with the same id takes its place.
    return opener.id ? document.getElementById(opener.id) : null;
  };
  const giveBack = () => {
    if (document.querySelector(DIALOG)) return; // another dialog opened meanwhile
    const active = document.activeElement;
    const el = target();
    if (el && (!active || active === document.body)) el.focus({ preventScroll: true });
  };
  const watch = () => {
    if (document.querySelector(DIALOG)) {
      if (!dialogWasOpen) {
        opener = activated && performance.now() - activatedAt < 10000 ? activated : focused;
        activated = null;
      }
      dialogWasOpen = true;
      return;
    }
    if (!dialogWasOpen) return;
    dialogWasOpen = false;
    // Radix moves focus itself while its dialog unmounts (to <body> when there is no trigger),
    // sometimes a tick later: check again after it is done.
    giveBack();
    [0, 50, 150, 400].forEach((ms) => setTimeout(giveBack, ms));
  };
  const start = () => new MutationObserver(watch).observe(document.body, { childList: true, subtree: true });
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
