// ltxflow review: hover-to-play, safe-zone toggle, decisions through the JSON API, compare picks, promote, sync.
"use strict";
(() => {
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const campaign = () => ($("[data-campaign]") || {}).dataset?.campaign;

  async function api(path, body) {
    const response = await fetch(path, {
      method: body === undefined ? "GET" : "POST",
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || `${response.status}`);
    return data;
  }

  // Muted autoplay on hover: the browser fetches a clip only when it is looked at (preload="none").
  function hoverPlay(root) {
    $$("video", root).forEach((video) => {
      video.addEventListener("mouseenter", () => { video.muted = true; video.play().catch(() => {}); });
      video.addEventListener("mouseleave", () => video.pause());
    });
  }

  function safeZones() {
    $$("[data-toggle=safe-zones]").forEach((box) => {
      const apply = () => document.body.classList.toggle("show-safe-zones", box.checked);
      box.addEventListener("change", apply);
      apply();
    });
  }

  function showState(section, review) {
    section.dataset.decision = review.decision;
    $("[data-badge]", section).textContent = review.decision;
    $("[data-rating-shown]", section).textContent = review.rating ? "★".repeat(review.rating) : "";
    $$("[data-action=rate]", section).forEach((b) => b.classList.toggle("on", Number(b.dataset.rating) <= (review.rating || 0)));
    const notes = $("[data-notes]", section);
    notes.replaceChildren(...review.notes.map((n) => {
      const li = document.createElement("li");
      const who = document.createElement("b");
      who.textContent = n.reviewer;                       // text, never HTML: notes are user input
      li.append(who, " ", n.text);
      return li;
    }));
  }

  function decisions() {
    const name = campaign();
    const reviewer = $("[data-reviewer-name]");
    if (reviewer) {
      reviewer.value = localStorage.getItem("ltxflow-reviewer") || reviewer.value;
      reviewer.addEventListener("change", () => localStorage.setItem("ltxflow-reviewer", reviewer.value));
    }
    document.addEventListener("click", async (event) => {
      const button = event.target.closest("[data-action]");
      const section = button && button.closest("section.render[data-task-id]");
      if (!section) return;
      const body = { task_id: section.dataset.taskId, action: button.dataset.action, reviewer: reviewer ? reviewer.value : "" };
      if (body.action === "rate") body.rating = Number(button.dataset.rating);
      if (body.action === "note") {
        const input = $("[data-note]", section);
        body.note = input.value;
        if (!body.note.trim()) return;
        input.value = "";
      }
      button.disabled = true;
      try {
        const result = await api(`/api/campaigns/${encodeURIComponent(name)}/decisions`, body);
        delete section.dataset.error;
        showState(section, result.review);
      } catch (error) {
        section.dataset.error = `decision not recorded: ${error.message}`;
      } finally {
        button.disabled = false;
      }
    });
    $$("section.render[data-task-id]").forEach((section) => {
      const rating = $("[data-rating-shown]", section).textContent.length;
      $$("[data-action=rate]", section).forEach((b) => b.classList.toggle("on", Number(b.dataset.rating) <= rating));
    });
  }

  function comparePicks() {
    const link = $("[data-compare-link]");
    if (!link) return;
    const base = link.getAttribute("href");
    const update = () => {
      const picked = $$("[data-compare]:checked").map((box) => box.value);
      $("[data-compare-count]", link).textContent = String(picked.length);
      const ok = picked.length >= 2 && picked.length <= 4;
      link.setAttribute("aria-disabled", String(!ok));
      link.href = ok ? `${base}?${picked.map((id) => `task=${encodeURIComponent(id)}`).join("&")}` : base;
    };
    document.addEventListener("change", (event) => { if (event.target.matches("[data-compare]")) update(); });
    update();
  }

  function promote() {
    const button = $("[data-promote]");
    const status = $("[data-promote-status]");
    if (!status) return;
    const path = `/api/campaigns/${encodeURIComponent(campaign())}/promote`;
    const show = (job) => { status.dataset.state = job.state; status.textContent = job.message; };
    const poll = async () => {
      const job = await api(path);
      show(job);
      if (job.state === "running") setTimeout(poll, 1000);
      else if (job.state === "finished") location.reload();
    };
    if (status.dataset.state === "running") poll();
    if (!button) return;
    button.addEventListener("click", async () => {
      try { show(await api(path, {})); poll(); } catch (error) { show({ state: "failed", message: error.message }); }
    });
  }

  // Side by side: one clock for every video; seeking or playing one moves the others.
  function sync() {
    const group = $("[data-sync-group]");
    if (!group) return;
    const videos = $$("video", group);
    videos.forEach((v) => { v.preload = "auto"; });
    let leading = false;
    const follow = (source) => {
      if (leading) return;
      leading = true;
      videos.forEach((v) => { if (v !== source && Math.abs(v.currentTime - source.currentTime) > 0.08) v.currentTime = source.currentTime; });
      leading = false;
    };
    videos.forEach((v) => {
      v.addEventListener("seeked", () => follow(v));
      v.addEventListener("play", () => { if (!leading) { leading = true; videos.forEach((o) => o.play().catch(() => {})); leading = false; } });
      v.addEventListener("pause", () => { if (!leading) { leading = true; videos.forEach((o) => o.pause()); leading = false; } });
    });
    setInterval(() => { if (videos.length && !videos[0].paused) follow(videos[0]); }, 500);
    $$("[data-sync]").forEach((b) => b.addEventListener("click", () => {
      if (b.dataset.sync === "play") videos.forEach((v) => v.play().catch(() => {}));
      if (b.dataset.sync === "pause") videos.forEach((v) => v.pause());
      if (b.dataset.sync === "restart") videos.forEach((v) => { v.currentTime = 0; });
    }));
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (!$("[data-sync-group]")) hoverPlay(document);
    safeZones();
    decisions();
    comparePicks();
    promote();
    sync();
  });
})();
