// "Scan": read a part label's QR code with the phone's camera and open that part's card.
//
// The camera is read with the browser's own BarcodeDetector (Chrome on Android, Safari 17+ on
// macOS, ChromeOS); no decoder is downloaded. Where the browser has no detector or no camera (a
// desktop, an http:// address the browser will not give a camera to), the dialog says so and
// offers the number printed under every code instead; the phone's own camera app also opens the
// label's link. Only a code's "/p/<number>" is followed, always on this site: a label printed
// with another address still opens here, and a code that is not a label goes nowhere.
(function () {
  const PART_PATH = /\/p\/(\d{1,10})\/?$/;
  let dialog = null;
  let stream = null;
  let timer = null;

  const el = (tag, props, ...children) => {
    const node = document.createElement(tag);
    Object.assign(node, props || {});
    for (const child of children) node.append(child);
    return node;
  };

  function partFrom(text) {
    let url;
    try {
      url = new URL(String(text).trim(), window.location.href);
    } catch (_) {
      return null;
    }
    const match = PART_PATH.exec(url.pathname);
    return match ? match[1] : null;
  }

  function stop() {
    if (timer) window.clearTimeout(timer);
    timer = null;
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
  }

  function open(id) {
    stop();
    dialog.close();
    window.location.assign("/p/" + id);
  }

  function build() {
    const status = el("p", { id: "scan-status", className: "scan-status" });
    status.setAttribute("role", "status");
    const video = el("video", { id: "scan-video", muted: true, playsInline: true, hidden: true });
    video.setAttribute("aria-label", "Camera view");
    const input = el("input", {
      id: "scan-number",
      name: "part",
      inputMode: "numeric",
      autocomplete: "off",
    });
    const form = el(
      "form",
      { className: "scan-form" },
      el("label", { htmlFor: "scan-number" }, "Or type the number under the code"),
      el("div", { className: "scan-row" }, input, el("button", { type: "submit", id: "scan-go" }, "Open"))
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const id = input.value.replace(/[#\s]/g, "");
      if (/^\d{1,10}$/.test(id)) open(id);
      else status.textContent = "Type the number printed under the code, e.g. 42.";
    });
    const close = el("button", { type: "button", id: "scan-close", className: "scan-close" }, "Close");
    close.addEventListener("click", () => dialog.close());
    const box = el(
      "dialog",
      { id: "scan-dialog", className: "scan-dialog" },
      el("h2", { id: "scan-title" }, "Scan a part label"),
      video,
      status,
      form,
      close
    );
    box.setAttribute("aria-labelledby", "scan-title");
    box.addEventListener("close", stop);
    document.body.append(box);
    return box;
  }

  async function watch(video, status) {
    const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    const look = async () => {
      if (!stream) return;
      try {
        const codes = await detector.detect(video);
        for (const code of codes) {
          const id = partFrom(code.rawValue);
          if (id) return open(id);
          status.textContent = "That code is not an Aerie part label.";
        }
      } catch (_) {
        // A frame the detector could not read (not ready yet): try the next one.
      }
      timer = window.setTimeout(look, 200);
    };
    look();
  }

  async function start() {
    dialog = dialog || build();
    const video = dialog.querySelector("#scan-video");
    const status = dialog.querySelector("#scan-status");
    dialog.querySelector("#scan-number").value = "";
    dialog.showModal();
    const camera = navigator.mediaDevices && navigator.mediaDevices.getUserMedia;
    if (!("BarcodeDetector" in window) || !camera) {
      video.hidden = true;
      status.textContent = camera
        ? "This browser cannot read QR codes itself: point the phone's camera app at the label."
        : "The camera needs Aerie on an https:// address in this browser: point the phone's camera app at the label.";
      dialog.querySelector("#scan-number").focus();
      return;
    }
    status.textContent = "Point the camera at a part label…";
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: { ideal: "environment" } },
        audio: false,
      });
    } catch (_) {
      status.textContent = "The camera is not available: allow it in the browser's settings.";
      dialog.querySelector("#scan-number").focus();
      return;
    }
    if (!dialog.open) return stop();
    video.srcObject = stream;
    video.hidden = false;
    await video.play().catch(() => {});
    watch(video, status);
  }

  window.aerieScan = start;
  window.aeriePartFromCode = partFrom;
})();
