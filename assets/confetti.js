// A small, dependency-free confetti burst for completed parts (no CDN).
// Honours prefers-reduced-motion: no burst at all for people who asked the system for less motion.
window.aerieConfetti = function () {
  if (window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches) return;
  const canvas = document.createElement("canvas");
  canvas.style.cssText = "position:fixed;inset:0;pointer-events:none;z-index:9999";
  canvas.width = window.innerWidth;
  canvas.height = window.innerHeight;
  document.body.appendChild(canvas);
  const ctx = canvas.getContext("2d");
  const colors = ["#4aa3ff", "#22c55e", "#f59e0b", "#ef4444", "#a855f7"];
  const bits = Array.from({ length: 140 }, () => ({
    x: canvas.width / 2, y: canvas.height / 3,
    vx: (Math.random() - 0.5) * 14, vy: Math.random() * -12 - 4,
    s: 4 + Math.random() * 6, c: colors[Math.floor(Math.random() * colors.length)],
    r: Math.random() * Math.PI,
  }));
  let frames = 0;
  (function tick() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    bits.forEach((b) => {
      b.vy += 0.35; b.x += b.vx; b.y += b.vy; b.r += 0.2;
      ctx.save(); ctx.translate(b.x, b.y); ctx.rotate(b.r);
      ctx.fillStyle = b.c; ctx.fillRect(-b.s / 2, -b.s / 2, b.s, b.s * 0.6); ctx.restore();
    });
    if (++frames < 120) requestAnimationFrame(tick); else canvas.remove();
  })();
};
