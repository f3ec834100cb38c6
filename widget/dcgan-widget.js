/* The DCGAN course's in-browser generator: the shipped generators, exported to ONNX by the
 * book build (tools/generator_widget.py), run in the reader's browser with onnxruntime-web.
 *
 * Markup: <div class="dcgan-widget" data-model="shapes-32" data-modes="samples walk arithmetic">
 * Modes: "samples" (a grid from new random z), "walk" (lerp or slerp between two samples, with a
 * slider) and "arithmetic" (a - b + c on the concept vectors chapter 9 computes; shapes only).
 * Noise comes from a seeded generator (mulberry32 + Box-Muller), so a seed names a sample. A
 * generator with a categorical code (chapter 8; its JSON's "categories" K > 0) gets each noise
 * vector followed by the one-hot code of a category drawn uniformly, as dcgan_lib.sample_z does.
 * window.dcganWidgets lists the widgets; tests read each one's lastZ and its canvases.
 */
(function () {
  "use strict";

  const script = document.currentScript;
  const BASE = new URL(".", script.src).href; // .../_static/dcgan-widget/
  const SCALE = 2; // screen pixels per generated pixel: a 32-pixel image shows at 64
  let ortLoading = null;

  function loadRuntime() {
    if (!ortLoading) {
      ortLoading = new Promise((resolve, reject) => {
        const tag = document.createElement("script");
        tag.src = BASE + "ort/ort.wasm.min.js";
        tag.onload = () => {
          window.ort.env.wasm.wasmPaths = BASE + "ort/";
          window.ort.env.wasm.numThreads = 1; // threads need cross-origin isolation
          resolve(window.ort);
        };
        tag.onerror = () => reject(new Error("could not load " + tag.src));
        document.head.appendChild(tag);
      });
    }
    return ortLoading;
  }

  function mulberry32(seed) {
    let state = seed >>> 0;
    return function () {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  /* count standard normal numbers from a seed (Box-Muller on mulberry32) */
  function normals(seed, count) {
    const uniform = mulberry32(seed), out = new Float32Array(count);
    for (let i = 0; i < count; i += 2) {
      const u = 1 - uniform(), v = uniform();
      const radius = Math.sqrt(-2 * Math.log(u));
      out[i] = radius * Math.cos(2 * Math.PI * v);
      if (i + 1 < count) out[i + 1] = radius * Math.sin(2 * Math.PI * v);
    }
    return out;
  }

  /* count inputs of a generator, row after row: nz normal numbers, then (categories > 0) the
   * one-hot code of a category drawn uniformly from a second stream of the same seed */
  function latents(seed, count, nz, categories) {
    const noise = normals(seed, count * nz), width = nz + categories;
    if (!categories) return noise;
    const uniform = mulberry32(seed ^ 0x5bd1e995), out = new Float32Array(count * width);
    for (let n = 0; n < count; n++) {
      out.set(noise.subarray(n * nz, (n + 1) * nz), n * width);
      out[n * width + nz + Math.min(categories - 1, Math.floor(uniform() * categories))] = 1;
    }
    return out;
  }

  function interpolate(z0, z1, t, method) {
    const out = new Float32Array(z0.length);
    if (method === "slerp") {
      let dot = 0, n0 = 0, n1 = 0;
      for (let i = 0; i < z0.length; i++) { dot += z0[i] * z1[i]; n0 += z0[i] ** 2; n1 += z1[i] ** 2; }
      const omega = Math.acos(Math.min(1, Math.max(-1, dot / Math.sqrt(n0 * n1))));
      if (omega > 1e-6) {
        const a = Math.sin((1 - t) * omega) / Math.sin(omega), b = Math.sin(t * omega) / Math.sin(omega);
        for (let i = 0; i < out.length; i++) out[i] = a * z0[i] + b * z1[i];
        return out;
      }
    }
    for (let i = 0; i < out.length; i++) out[i] = (1 - t) * z0[i] + t * z1[i];
    return out;
  }

  /* fetch JSON; a missing file names itself instead of failing to parse an error page */
  async function fetchJson(url) {
    const response = await fetch(url);
    if (!response.ok) throw new Error("could not load " + url + " (HTTP " + response.status + "); rebuild the book with make book");
    return response.json();
  }

  function element(tag, attributes, text) {
    const node = document.createElement(tag);
    Object.assign(node, attributes || {});
    if (text) node.textContent = text;
    return node;
  }

  class GeneratorWidget {
    constructor(root) {
      this.root = root;
      this.name = root.dataset.model;
      this.modes = (root.dataset.modes || "samples").trim().split(/\s+/).filter(Boolean);
      this.seed = Number(root.dataset.seed || 1);
      this.canvases = {};
      this.lastZ = null;
      this.queue = Promise.resolve(); // one onnxruntime run at a time, in the order asked
      this.ready = this.start();
    }

    say(text) {
      this.root.classList.add("dcgan-widget-message");
      this.root.textContent = text;
    }

    async start() {
      if (typeof WebAssembly !== "object") {
        this.say("This browser has WebAssembly switched off, so the generator cannot run in the " +
                 "page. The figures of the chapter show the same generator.");
        return false;
      }
      if (location.protocol === "file:") {
        this.say("Browsers refuse to run WebAssembly in pages opened from a file. Serve the folder " +
                 "that holds the book's index.html instead, e.g. python -m http.server --directory " +
                 "_build/html, and open http://localhost:8000 (the figures of the chapter show the " +
                 "same generator).");
        return false;
      }
      try {
        const ort = await loadRuntime();
        const meta = await fetchJson(BASE + "models/" + this.name + ".json");
        this.meta = meta;
        this.categories = meta.categories || 0;
        this.latent = meta.nz + this.categories; // the length of one input z
        this.session = await ort.InferenceSession.create(BASE + "models/" + this.name + ".onnx",
                                                         {executionProviders: ["wasm"]});
        this.ort = ort;
        this.root.textContent = "";
        for (const mode of this.modes) {
          if (typeof this["build_" + mode] !== "function") throw new Error("unknown mode " + mode);
          await this["build_" + mode]();
        }
        return true;
      } catch (error) {
        this.say("The in-browser generator could not start (" + error.message + "). The figures " +
                 "of the chapter show the same generator.");
        return false;
      }
    }

    /* images for count z vectors (flat Float32Array): Float32Array (count, nc, S, S) in [-1, 1];
     * runs are queued: onnxruntime-web runs one inference of a session at a time */
    generate(z, count) {
      const run = async () => {
        const input = new this.ort.Tensor("float32", z, [count, this.latent]);
        const output = await this.session.run({z: input});
        return output.images.data;
      };
      const result = this.queue.then(run, run);
      this.queue = result.catch(() => undefined);
      return result;
    }

    /* run an update; a failure shows as a note instead of freezing the widget */
    guard(update, note) {
      return update().catch(error => { note.textContent = " (could not draw: " + error.message + ")"; });
    }

    draw(canvas, images, count, columns) {
      const size = this.meta.image_size, nc = this.meta.nc, pixels = size * size;
      canvas.width = columns * size * SCALE;
      canvas.height = Math.ceil(count / columns) * size * SCALE;
      const context = canvas.getContext("2d");
      const picture = context.createImageData(canvas.width, canvas.height);
      for (let n = 0; n < count; n++) {
        const left = (n % columns) * size * SCALE, top = Math.floor(n / columns) * size * SCALE;
        for (let y = 0; y < size * SCALE; y++) {
          for (let x = 0; x < size * SCALE; x++) {
            const source = n * nc * pixels + Math.floor(y / SCALE) * size + Math.floor(x / SCALE);
            const target = 4 * ((top + y) * canvas.width + left + x);
            for (let c = 0; c < 3; c++) {
              const value = images[source + (nc === 3 ? c * pixels : 0)];
              picture.data[target + c] = Math.min(255, Math.max(0, Math.round((value + 1) * 127.5)));
            }
            picture.data[target + 3] = 255;
          }
        }
      }
      context.putImageData(picture, 0, 0);
    }

    panel(title) {
      const box = element("div", {className: "dcgan-widget-panel"});
      box.appendChild(element("div", {className: "dcgan-widget-title"}, title));
      this.root.appendChild(box);
      return box;
    }

    async build_samples() {
      const box = this.panel("Samples of " + this.name + ", drawn in your browser");
      const canvas = element("canvas", {className: "dcgan-widget-canvas"});
      const button = element("button", {type: "button"}, "New samples");
      const label = element("span", {className: "dcgan-widget-note"});
      box.append(canvas, element("div", {}, ""), button, label);
      this.canvases.samples = canvas;
      const count = 16, columns = 8;
      const show = async () => {
        const z = latents(this.seed, count, this.meta.nz, this.categories);
        this.draw(canvas, await this.generate(z, count), count, columns);
        this.lastZ = z;
        this.lastCount = count;
        const code = this.categories ? " and one of " + this.categories + " categories" : "";
        label.textContent = " seed " + this.seed + ": z ~ N(0, I)" + code + ", " + count + " samples";
      };
      button.onclick = () => { this.seed += 1; this.busy = this.guard(show, label); };
      this.busy = show();
      await this.busy;
    }

    async build_walk() {
      const box = this.panel("A walk in z-space between two samples");
      const strip = element("canvas", {className: "dcgan-widget-canvas"});
      const slider = element("input", {type: "range", min: 0, max: 100, value: 50});
      const method = element("select", {});
      for (const name of ["slerp", "lerp"]) method.appendChild(element("option", {value: name}, name));
      const current = element("canvas", {className: "dcgan-widget-canvas"});
      const button = element("button", {type: "button"}, "New ends");
      const label = element("span", {className: "dcgan-widget-note"});
      box.append(strip, element("div", {}), method, slider, label, element("div", {}), current, button);
      this.canvases.walk = strip;
      let seed = this.seed + 1000, ends = null, request = 0;
      const steps = 8, nz = this.latent;
      const drawStrip = async () => {
        const path = new Float32Array(steps * nz);
        for (let i = 0; i < steps; i++) path.set(interpolate(ends[0], ends[1], i / (steps - 1), method.value), i * nz);
        this.draw(strip, await this.generate(path, steps), steps, steps);
      };
      const drawCurrent = async () => {
        const mine = ++request, t = slider.value / 100;
        const image = await this.generate(interpolate(ends[0], ends[1], t, method.value), 1);
        if (mine !== request) return; // a newer slider position is on its way: skip this one
        this.draw(current, image, 1, 1);
        current.style.width = 4 * this.meta.image_size + "px";
        label.textContent = " t = " + t.toFixed(2) + " (" + method.value + ")";
      };
      const newEnds = () => {
        const z = latents(seed, 2, this.meta.nz, this.categories);
        ends = [z.slice(0, nz), z.slice(nz)];
        seed += 1;
      };
      newEnds();
      slider.oninput = () => { this.walking = this.guard(drawCurrent, label); };
      method.onchange = button.onclick = (event) => {
        if (event && event.target === button) newEnds();
        this.walking = this.guard(() => Promise.all([drawStrip(), drawCurrent()]), label);
      };
      await Promise.all([drawStrip(), drawCurrent()]);
    }

    async build_arithmetic() {
      const concepts = await fetchJson(BASE + "models/" + this.name + ".concepts.json");
      const box = this.panel("Vector arithmetic on concept vectors (chapter 9)");
      const names = Object.keys(concepts.vectors);
      const picks = concepts.example.map(name => {
        const select = element("select", {});
        for (const option of names) select.appendChild(element("option", {value: option, selected: option === name}, option));
        return select;
      });
      const canvas = element("canvas", {className: "dcgan-widget-canvas"});
      const note = element("div", {className: "dcgan-widget-note"},
                           "a, b, c (means of " + concepts.k + " z each) and a \u2212 b + c");
      box.append(picks[0], element("span", {}, " \u2212 "), picks[1], element("span", {}, " + "), picks[2],
                 element("div", {}), canvas, note);
      this.canvases.arithmetic = canvas;
      const nz = this.latent;
      const show = async () => {
        const [a, b, c] = picks.map(select => concepts.vectors[select.value]);
        const z = new Float32Array(4 * nz);
        z.set(a, 0); z.set(b, nz); z.set(c, 2 * nz);
        for (let i = 0; i < nz; i++) z[3 * nz + i] = a[i] - b[i] + c[i];
        this.draw(canvas, await this.generate(z, 4), 4, 4);
      };
      for (const select of picks) select.onchange = () => { this.arithmetic = this.guard(show, note); };
      await show();
    }
  }

  function startAll() {
    const roots = Array.from(document.querySelectorAll(".dcgan-widget:not([data-started])"));
    roots.forEach(root => root.setAttribute("data-started", ""));
    window.dcganWidgets = (window.dcganWidgets || []).concat(roots.map(root => new GeneratorWidget(root)));
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", startAll);
  else startAll();
})();
