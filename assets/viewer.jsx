// Aerie's 3D viewer: a GLB on a three.js canvas with orbit/zoom/pan (mouse and touch),
// fit-to-view, reset, wireframe and edges toggles, a bounding-box overlay, a light/dark
// background and, when given, the previous revision as a see-through ghost, and the part's numbered
// review pins (placed by clicking a face in pin mode). Everything it needs ships with the app: no
// CDN, no decoders fetched at runtime.
import React, { useEffect, useRef, useState } from "react";
import * as THREE from "three";
import { GLTFLoader } from "three/examples/jsm/loaders/GLTFLoader.js";
import { OrbitControls } from "three/examples/jsm/controls/OrbitControls.js";
// Aerie serves models quantised and meshopt-compressed (aerie_app/cad/compress.py); three.js's own
// decoder carries its WebAssembly inline, so it works offline and needs no decoder path.
import { MeshoptDecoder } from "three/examples/jsm/libs/meshopt_decoder.module.js";

function modelLoader() {
  return new GLTFLoader().setMeshoptDecoder(MeshoptDecoder);
}

const BUTTON = {
  font: "12px system-ui, sans-serif",
  padding: "4px 8px",
  borderRadius: "6px",
  border: "1px solid rgba(128,128,128,0.45)",
  background: "rgba(30,30,34,0.72)",
  color: "#eee",
  cursor: "pointer",
  touchAction: "manipulation",
};

function disposeTree(root) {
  root.traverse((node) => {
    if (node.geometry) node.geometry.dispose();
    const mats = Array.isArray(node.material) ? node.material : node.material ? [node.material] : [];
    mats.forEach((m) => m.dispose());
  });
}

function frame(camera, controls, box) {
  const size = box.getSize(new THREE.Vector3());
  const center = box.getCenter(new THREE.Vector3());
  const radius = Math.max(size.length() / 2, 1e-4);
  const fov = (camera.fov * Math.PI) / 180;
  const distance = (radius / Math.sin(fov / 2)) * 1.1;
  const direction = new THREE.Vector3(1, 0.8, 1.2).normalize();
  camera.position.copy(center).addScaledVector(direction, distance);
  camera.near = distance / 1000;
  camera.far = distance * 100;
  camera.updateProjectionMatrix();
  controls.target.copy(center);
  controls.update();
}

// A model's box reads the same everywhere (aerie_app/units.py: model_dims_mm / model_dims_in):
// its own X × Y × Z in the STEP file's axes, mm to DIMS_MM_PLACES decimals, inches to DIMS_IN_PLACES.
const DIMS_MM_PLACES = 2;
const DIMS_IN_PLACES = 3;
const fmt = (v) => v.toFixed(DIMS_MM_PLACES);
const inch = (v) => (v / 25.4).toFixed(DIMS_IN_PLACES);

// The assembly's tree as the viewer lists it: every node the glTF file names (GLTFLoader keeps that
// name in userData.name; meshes named after their mesh are not listed) that draws something, indented
// under its named ancestors (unnamed nodes, such as the ones quantisation adds, are looked through).
// A model with a single named body has no tree to show.
function assemblyTree(root) {
  const entries = [];
  const walk = (node, depth, parentId) => {
    let nextDepth = depth;
    let id = parentId;
    if (node !== root && node.userData.name) {
      let draws = false;
      node.traverse((n) => {
        if (n.isMesh || n.isLine) draws = true;
      });
      if (draws) {
        id = entries.length;
        entries.push({ id, name: String(node.userData.name), depth, parent: parentId, node });
        nextDepth = depth + 1;
      }
    }
    node.children.forEach((child) => walk(child, nextDepth, id));
  };
  walk(root, 0, -1);
  // A single top-level entry holding everything is the part itself, not a body of it.
  const top = entries.filter((e) => e.depth === 0);
  if (top.length === 1 && entries.length > 1) {
    const rest = entries.filter((e) => e !== top[0]);
    const index = new Map(rest.map((e, i) => [e.id, i]));
    return rest.map((e, i) => ({
      ...e,
      id: i,
      depth: e.depth - 1,
      parent: index.has(e.parent) ? index.get(e.parent) : -1,
    }));
  }
  return entries.length > 1 ? entries : [];
}

function shownInWorld(node) {
  for (let n = node; n; n = n.parent) if (!n.visible) return false;
  return true;
}

const reducedMotion = () =>
  typeof window !== "undefined" && window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

// The previous revision's geometry, drawn over the new one: see-through orange, never picked up
// by the fit or the box (which describe the current model).
const GHOST_COLOR = 0xff9f1c;


// glTF is metres and Y-up; STEP (and every point Aerie stores) is millimetres and Z-up. The
// converter turns (x, y, z) into (x, z, -y); these undo and redo that.
const toStep = (v) => [v.x * 1000, -v.z * 1000, v.y * 1000];
const fromStep = (p) => new THREE.Vector3(p[0] / 1000, p[2] / 1000, -p[1] / 1000);
const round = (v, places) => Number(v.toFixed(places));
// The body a mesh belongs to: its nearest ancestor the glTF file names.
function bodyName(node, root) {
  for (let n = node; n && n !== root; n = n.parent) if (n.userData && n.userData.name) return String(n.userData.name);
  return "";
}
const PIN_COLORS = {
  open: { background: "#ffb224", color: "#1a1206" },
  ticked: { background: "#30a46c", color: "#ffffff" },
  stale: { background: "#e5484d", color: "#ffffff" },
};
const pinState = (pin) => (pin.stale ? "stale" : pin.ticked ? "ticked" : "open");

export function AerieViewer({
  url,
  ghostUrl = "",
  dark = true,
  height = "420px",
  label = "the part",
  dimsMm = [],
  poster = "",
  pins = [],
  canPin = false,
  onPick = null,
}) {
  const mountRef = useRef(null);
  const ctx = useRef({});
  const [state, setState] = useState("loading");
  const [error, setError] = useState("");
  const [dims, setDims] = useState(null);
  const [wire, setWire] = useState(false);
  const [edges, setEdges] = useState(false);
  const [showBox, setShowBox] = useState(true);
  const [darkBg, setDarkBg] = useState(dark);
  const [ghostState, setGhostState] = useState("none");
  const [showGhost, setShowGhost] = useState(true);
  // The assembly tree: its bodies, which of them are hidden (by entry id), and whether it is open.
  const [bodies, setBodies] = useState([]);
  const [hidden, setHidden] = useState(() => new Set());
  const [treeOpen, setTreeOpen] = useState(false);
  // Pin mode: the next click on the model (a click, not a drag) picks a point for a new pin.
  const [pinMode, setPinMode] = useState(false);
  const pinLayer = useRef(null);
  const pinModeRef = useRef(false);
  const onPickRef = useRef(onPick);
  useEffect(() => {
    pinModeRef.current = pinMode;
    onPickRef.current = onPick;
  });
  // The server-rendered thumbnail stands in the model's place until its first frame is drawn.
  const [posterOk, setPosterOk] = useState(true);
  useEffect(() => setPosterOk(true), [poster]);
  // The facts' box when the page has it (exactly what the facts panel says), else the mesh's.
  const shown =
    dims && Array.isArray(dimsMm) && dimsMm.length === 3
      ? { x: Number(dimsMm[0]), y: Number(dimsMm[1]), z: Number(dimsMm[2]) }
      : dims;

  useEffect(() => {
    const mount = mountRef.current;
    if (!mount || !url) return undefined;
    const width = mount.clientWidth || 600;
    const heightPx = mount.clientHeight || 420;
    const renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
    renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
    renderer.setSize(width, heightPx);
    renderer.outputColorSpace = THREE.SRGBColorSpace;
    mount.appendChild(renderer.domElement);
    renderer.domElement.setAttribute("data-testid", "viewer-canvas");
    // A picture to assistive technology (its text alternative is set below, once the size is
    // known), and focusable so the arrow keys can pan the view without a mouse.
    renderer.domElement.setAttribute("role", "img");
    renderer.domElement.setAttribute("tabindex", "0");
    renderer.domElement.setAttribute("aria-label", "3D model, loading");
    renderer.domElement.style.touchAction = "none";

    const scene = new THREE.Scene();
    const camera = new THREE.PerspectiveCamera(40, width / heightPx, 0.001, 1000);
    scene.add(new THREE.HemisphereLight(0xffffff, 0x444455, 1.6));
    const key = new THREE.DirectionalLight(0xffffff, 1.8);
    key.position.set(2, 3, 4);
    camera.add(key);
    scene.add(camera);
    const controls = new OrbitControls(camera, renderer.domElement);
    // Inertia keeps the model drifting after a drag: off for people who asked for less motion.
    controls.enableDamping = !reducedMotion();
    controls.screenSpacePanning = true;
    controls.listenToKeyEvents(renderer.domElement);

    let frameId = 0;
    let alive = true;
    const placePins = () => {
      const layer = pinLayer.current;
      if (!layer) return;
      const w = renderer.domElement.clientWidth;
      const h = renderer.domElement.clientHeight;
      layer.querySelectorAll("[data-pin-point]").forEach((el) => {
        const p = JSON.parse(el.getAttribute("data-pin-point"));
        const v = fromStep(p).project(camera);
        const shown = v.z < 1 && Math.abs(v.x) <= 1.05 && Math.abs(v.y) <= 1.05;
        el.style.display = shown ? "grid" : "none";
        el.style.transform = `translate(${((v.x + 1) / 2) * w - 14}px, ${((1 - v.y) / 2) * h - 14}px)`;
      });
    };
    const loop = () => {
      if (!alive) return;
      controls.update();
      renderer.render(scene, camera);
      placePins();
      frameId = requestAnimationFrame(loop);
    };
    loop();

    const onResize = () => {
      const w = mount.clientWidth || width;
      const h = mount.clientHeight || heightPx;
      camera.aspect = w / h;
      camera.updateProjectionMatrix();
      renderer.setSize(w, h);
    };
    const observer = new ResizeObserver(onResize);
    observer.observe(mount);

    // In pin mode a click (not a drag: the pointer moved under 6 px) on a shown body picks the
    // point, its face's normal, the body's name and the triangle, in the STEP model's axes.
    let down = null;
    const onDown = (ev) => {
      down = { x: ev.clientX, y: ev.clientY };
    };
    const onUp = (ev) => {
      const start = down;
      down = null;
      const { model } = ctx.current;
      if (!pinModeRef.current || !start || !model) return;
      if (Math.hypot(ev.clientX - start.x, ev.clientY - start.y) > 6) return;
      const rect = renderer.domElement.getBoundingClientRect();
      const ndc = new THREE.Vector2(
        ((ev.clientX - rect.left) / rect.width) * 2 - 1,
        -((ev.clientY - rect.top) / rect.height) * 2 + 1
      );
      const ray = new THREE.Raycaster();
      ray.setFromCamera(ndc, camera);
      const hit = ray
        .intersectObject(model, true)
        .find((h) => h.object.isMesh && shownInWorld(h.object) && h.face);
      if (!hit) return;
      const normal = hit.face.normal.clone().transformDirection(hit.object.matrixWorld);
      setPinMode(false);
      if (onPickRef.current) {
        onPickRef.current({
          point: toStep(hit.point).map((v) => round(v, 3)),
          normal: toStep(normal).map((v) => round(v / 1000, 4)),
          body: ctx.current.multiBody ? bodyName(hit.object, model) : "",
          face: hit.faceIndex || 0,
        });
      }
    };
    renderer.domElement.addEventListener("pointerdown", onDown);
    renderer.domElement.addEventListener("pointerup", onUp);

    ctx.current = { renderer, scene, camera, controls };
    setState("loading");
    modelLoader().load(
      url,
      (gltf) => {
        if (!alive) return;
        const model = gltf.scene;
        scene.add(model);
        const box = new THREE.Box3().setFromObject(model);
        const size = box.getSize(new THREE.Vector3());
        const helper = new THREE.Box3Helper(box, 0x4aa3ff);
        scene.add(helper);
        // Edge outlines are built the first time they are switched on: most views never need them.
        const edgeGroup = new THREE.Group();
        edgeGroup.visible = false;
        scene.add(edgeGroup);
        const tree = assemblyTree(model);
        // A pin names the body it is on only where there are bodies to tell apart (a single
        // part's one name is the exporting program's, not the designer's).
        ctx.current = { ...ctx.current, model, box, helper, edgeGroup, multiBody: tree.length > 0 };
        setBodies(tree);
        setHidden(new Set());
        frame(camera, controls, box);
        // glTF is in metres and Y-up; the STEP model (and everything else Aerie shows) is in
        // millimetres and Z-up: its Y is glTF's Z, its Z is glTF's Y.
        setDims({ x: size.x * 1000, y: size.z * 1000, z: size.y * 1000 });
        setState("ready");
      },
      undefined,
      (err) => {
        if (!alive) return;
        setError(String((err && err.message) || err || "The model could not be loaded"));
        setState("error");
      }
    );

    return () => {
      alive = false;
      cancelAnimationFrame(frameId);
      observer.disconnect();
      renderer.domElement.removeEventListener("pointerdown", onDown);
      renderer.domElement.removeEventListener("pointerup", onUp);
      controls.dispose();
      disposeTree(scene);
      renderer.dispose();
      if (renderer.domElement.parentNode === mount) mount.removeChild(renderer.domElement);
      ctx.current = {};
    };
  }, [url]);

  useEffect(() => {
    const { scene } = ctx.current;
    if (!scene || !ghostUrl || state !== "ready") {
      setGhostState("none");
      return undefined;
    }
    let alive = true;
    setGhostState("loading");
    modelLoader().load(
      ghostUrl,
      (gltf) => {
        if (!alive) return;
        const ghost = gltf.scene;
        const material = new THREE.MeshBasicMaterial({
          color: GHOST_COLOR,
          transparent: true,
          opacity: 0.3,
          depthWrite: false,
        });
        ghost.traverse((node) => {
          if (node.isMesh || node.isLine) {
            const old = Array.isArray(node.material) ? node.material : [node.material];
            old.forEach((m) => m && m.dispose());
            node.material = material;
            node.renderOrder = 1;
          }
        });
        scene.add(ghost);
        ctx.current.ghost = ghost;
        setGhostState("ready");
      },
      undefined,
      () => alive && setGhostState("error")
    );
    return () => {
      alive = false;
      const { ghost } = ctx.current;
      if (ghost) {
        scene.remove(ghost);
        disposeTree(ghost);
        ctx.current.ghost = null;
      }
    };
  }, [ghostUrl, state]);

  useEffect(() => {
    const { ghost } = ctx.current;
    if (ghost) ghost.visible = showGhost;
  }, [showGhost, ghostState]);

  useEffect(() => {
    const { renderer } = ctx.current;
    if (!renderer) return;
    const text =
      state === "ready" && dims
        ? `3D model of ${label}: ${fmt(shown.x)} × ${fmt(shown.y)} × ${fmt(shown.z)} mm` +
          (ghostState === "ready" && showGhost ? ", with the previous revision shown in orange" : "")
        : state === "error"
          ? `3D model of ${label} could not be shown`
          : `3D model of ${label}, loading`;
    renderer.domElement.setAttribute("aria-label", text);
  }, [state, dims, shown, label, ghostState, showGhost]);

  useEffect(() => {
    const { scene } = ctx.current;
    if (scene) scene.background = new THREE.Color(darkBg ? 0x18181c : 0xf4f5f7);
  }, [darkBg, state]);

  useEffect(() => {
    const { model } = ctx.current;
    if (!model) return;
    model.traverse((node) => {
      const mats = Array.isArray(node.material) ? node.material : node.material ? [node.material] : [];
      mats.forEach((m) => {
        m.wireframe = wire;
      });
    });
  }, [wire, state]);

  useEffect(() => {
    const { edgeGroup, helper, model } = ctx.current;
    if (edgeGroup && edges && model && edgeGroup.children.length === 0) {
      model.traverse((node) => {
        if (node.isMesh) {
          const lines = new THREE.LineSegments(
            new THREE.EdgesGeometry(node.geometry, 25),
            new THREE.LineBasicMaterial({ color: 0x111111 })
          );
          node.updateWorldMatrix(true, false);
          lines.applyMatrix4(node.matrixWorld);
          lines.userData.source = node; // hidden with its body
          edgeGroup.add(lines);
        }
      });
    }
    if (edgeGroup) {
      edgeGroup.visible = edges;
      edgeGroup.children.forEach((lines) => {
        lines.visible = shownInWorld(lines.userData.source);
      });
    }
    if (helper) helper.visible = showBox;
  }, [edges, showBox, state, hidden]);

  useEffect(() => {
    bodies.forEach((entry) => {
      entry.node.visible = !hidden.has(entry.id);
    });
  }, [bodies, hidden]);

  const fit = () => {
    const { camera, controls, box } = ctx.current;
    if (camera && box) frame(camera, controls, box);
  };
  const reset = () => {
    setWire(false);
    setEdges(false);
    setHidden(new Set());
    fit();
  };
  const toggleBody = (id) => {
    const next = new Set(hidden);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setHidden(next);
  };
  // Show one body alone: every entry that is neither it, one of its ancestors nor inside it hides.
  const isolate = (id) => {
    const keep = new Set();
    for (let e = bodies[id]; e; e = e.parent >= 0 ? bodies[e.parent] : null) keep.add(e.id);
    bodies.forEach((e) => {
      for (let a = e; a; a = a.parent >= 0 ? bodies[a.parent] : null) if (a.id === id) keep.add(e.id);
    });
    setHidden(new Set(bodies.filter((e) => !keep.has(e.id)).map((e) => e.id)));
  };
  return (
    <div
      data-testid="aerie-viewer"
      data-state={state}
      data-ghost={ghostState}
      data-pin-mode={pinMode ? "on" : "off"}
      data-mesh-mm={dims ? [dims.x, dims.y, dims.z].map((v) => v.toFixed(4)).join(" ") : ""}
      style={{ position: "relative", width: "100%", height, borderRadius: "12px", overflow: "hidden" }}
    >
      <div ref={mountRef} style={{ position: "absolute", inset: 0, cursor: pinMode ? "crosshair" : undefined }} />
      {/* The pins drawn over the model; the page lists them as a checklist, which is what
          assistive technology reads (these markers are pictures of that list). */}
      <div ref={pinLayer} aria-hidden="true" style={{ position: "absolute", inset: 0, pointerEvents: "none", overflow: "hidden" }}>
        {(pins || [])
          .filter((pin) => Array.isArray(pin.point) && pin.point.length === 3)
          .map((pin) => (
            <div
              key={pin.number}
              data-testid="viewer-pin-marker"
              data-pin-number={pin.number}
              data-pin-state={pinState(pin)}
              data-pin-point={JSON.stringify(pin.point)}
              title={`#${pin.number} ${pin.note}`}
              style={{
                position: "absolute",
                left: 0,
                top: 0,
                display: "none",
                placeItems: "center",
                width: 28,
                height: 28,
                borderRadius: "50% 50% 50% 0",
                border: "2px solid #ffffff",
                boxShadow: "0 1px 4px rgba(0,0,0,0.5)",
                font: "bold 13px system-ui, sans-serif",
                ...PIN_COLORS[pinState(pin)],
              }}
            >
              {pin.number}
            </div>
          ))}
      </div>
      {state === "loading" && poster && posterOk && (
        <img
          src={poster}
          alt=""
          data-testid="viewer-poster"
          onError={() => setPosterOk(false)}
          style={{ position: "absolute", inset: 0, width: "100%", height: "100%", objectFit: "contain", pointerEvents: "none" }}
        />
      )}
      {state === "loading" && (
        <div
          role="status"
          style={{
            position: "absolute",
            inset: 0,
            display: "grid",
            placeItems: poster && posterOk ? "end center" : "center",
            padding: "12px",
            color: "#bbb",
          }}
        >
          Loading model…
        </div>
      )}
      {state === "error" && (
        <div role="alert" style={{ position: "absolute", inset: 0, display: "grid", placeItems: "center", color: "#f66", padding: "16px", textAlign: "center" }}>
          {error}
        </div>
      )}
      <div role="toolbar" aria-label="3D view tools" style={{ position: "absolute", top: 8, left: 8, display: "flex", gap: 6, flexWrap: "wrap" }}>
        <button type="button" style={BUTTON} onClick={fit} data-testid="viewer-fit">Fit</button>
        <button type="button" style={BUTTON} onClick={reset} data-testid="viewer-reset">Reset</button>
        <button type="button" style={BUTTON} aria-pressed={wire} onClick={() => setWire(!wire)} data-testid="viewer-wire">Wireframe</button>
        <button type="button" style={BUTTON} aria-pressed={edges} onClick={() => setEdges(!edges)} data-testid="viewer-edges">Edges</button>
        <button type="button" style={BUTTON} aria-pressed={showBox} onClick={() => setShowBox(!showBox)} data-testid="viewer-box">Box</button>
        {ghostUrl && (
          <button
            type="button"
            style={{ ...BUTTON, borderColor: "#ff9f1c" }}
            aria-pressed={showGhost}
            disabled={ghostState !== "ready"}
            onClick={() => setShowGhost(!showGhost)}
            data-testid="viewer-ghost"
            title="The previous revision's geometry, in orange"
          >
            Previous
          </button>
        )}
        {canPin && (
          <button
            type="button"
            style={{ ...BUTTON, borderColor: "#ffb224" }}
            aria-pressed={pinMode}
            disabled={state !== "ready"}
            onClick={() => setPinMode(!pinMode)}
            data-testid="viewer-pin"
            title="Click a face of the model to put a numbered review pin there"
          >
            {pinMode ? "Click a face…" : "Pin"}
          </button>
        )}
        <button type="button" style={BUTTON} onClick={() => setDarkBg(!darkBg)} data-testid="viewer-bg" aria-label={darkBg ? "Light background" : "Dark background"}>{darkBg ? "Light" : "Dark"}</button>
        {bodies.length > 0 && (
          <button
            type="button"
            style={BUTTON}
            aria-expanded={treeOpen}
            aria-controls="viewer-tree"
            onClick={() => setTreeOpen(!treeOpen)}
            data-testid="viewer-tree-toggle"
          >
            Bodies ({bodies.length - hidden.size}/{bodies.length})
          </button>
        )}
      </div>
      {treeOpen && bodies.length > 0 && (
        <div
          id="viewer-tree"
          role="group"
          aria-label="Bodies of this model"
          data-testid="viewer-tree"
          style={{
            position: "absolute",
            top: 44,
            right: 8,
            bottom: 44,
            width: "min(280px, 70%)",
            overflowY: "auto",
            ...BUTTON,
            background: "rgba(30,30,34,0.94)", // opaque enough that the model never lowers the text's contrast
            cursor: "default",
            padding: "6px 8px",
          }}
        >
          <div style={{ display: "flex", gap: 6, marginBottom: 6 }}>
            <button type="button" style={BUTTON} onClick={() => setHidden(new Set())} data-testid="viewer-show-all">
              Show all
            </button>
          </div>
          <ul style={{ listStyle: "none", margin: 0, padding: 0 }}>
            {bodies.map((entry) => (
              <li key={entry.id} style={{ display: "flex", alignItems: "center", gap: 6, paddingLeft: entry.depth * 14, minHeight: 28 }}>
                <input
                  type="checkbox"
                  id={`viewer-body-${entry.id}`}
                  checked={!hidden.has(entry.id)}
                  onChange={() => toggleBody(entry.id)}
                  data-testid="viewer-body"
                />
                <label htmlFor={`viewer-body-${entry.id}`} style={{ flex: 1, overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap" }} title={entry.name}>
                  {entry.name}
                </label>
                <button
                  type="button"
                  style={{ ...BUTTON, padding: "2px 6px" }}
                  onClick={() => isolate(entry.id)}
                  aria-label={`Show only ${entry.name}`}
                  data-testid="viewer-isolate"
                >
                  Only
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
      {dims && showBox && (
        <div data-testid="viewer-dims" style={{ position: "absolute", bottom: 8, left: 8, ...BUTTON, cursor: "default" }}>
          {fmt(shown.x)} × {fmt(shown.y)} × {fmt(shown.z)} mm ({inch(shown.x)} × {inch(shown.y)} × {inch(shown.z)} in)
        </div>
      )}
    </div>
  );
}
