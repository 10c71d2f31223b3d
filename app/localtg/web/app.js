// The web chat: a thin client of the control API (no build step). It long-polls /wait for live updates and
// re-renders only the messages whose content changed, so a playing video is not restarted by an unrelated edit.
"use strict";

const $ = (selector) => document.querySelector(selector);
// An SVG, not the 📄 emoji: browsers without an emoji font (headless CI) draw emoji as empty boxes.
const DOC_ICON = '<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path fill="none" '
  + 'stroke="currentColor" stroke-width="2" d="M6 2h9l5 5v15H6zM14 2v6h6"/></svg>';
const state = {
  bot: null,
  users: [],
  userId: null,
  change: 0,
  rendered: new Map(),
  loop: 0,
  typingTimer: null,
};

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

async function api(method, path, body) {
  const options = { method, headers: {} };
  if (body instanceof FormData) {
    options.body = body;
  } else if (body !== undefined) {
    options.body = JSON.stringify(body);
    options.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path, options);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function toast(text) {
  const box = $("#toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 3500);
}

function showAlert(text) {
  $("#alert-text").textContent = text;
  $("#alert").hidden = false;
}

// "★" rather than the ⭐️ emoji: it renders even where no emoji font is installed (headless CI browsers).
function amount(currency, total) {
  return currency === "XTR" ? `★${total}` : `${(total / 100).toFixed(2)} ${currency}`;
}

function humanSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function initials(name) {
  return (name || "?").trim().slice(0, 1).toUpperCase();
}

// -- users ------------------------------------------------------------------------------------------------
async function loadUsers() {
  state.users = await api("GET", "/control/users");
  const list = $("#users");
  list.replaceChildren();
  for (const user of state.users) {
    const item = el("li");
    item.dataset.userId = user.id;
    item.classList.toggle("active", user.id === state.userId);
    const avatar = el("div", "avatar", initials(user.first_name));
    const names = el("div");
    names.append(el("div", "user-name", user.first_name));
    const sub = [user.username ? `@${user.username}` : null, `id ${user.id}`, user.language_code]
      .filter(Boolean).join(" · ");
    names.append(el("div", "user-sub", sub));
    item.append(avatar, names);
    item.addEventListener("click", () => selectUser(user.id));
    list.append(item);
  }
}

async function selectUser(userId) {
  state.userId = userId;
  state.loop += 1;
  state.rendered.clear();
  $("#messages").replaceChildren();
  localStorage.setItem("localtg.user", String(userId));
  history.replaceState(null, "", `#user=${userId}`);
  for (const item of document.querySelectorAll("#users li")) {
    item.classList.toggle("active", Number(item.dataset.userId) === userId);
  }
  state.change = 0;
  await refresh(true);
  waitLoop(state.loop);
}

// -- messages ---------------------------------------------------------------------------------------------
function buildMedia(media) {
  const box = el("div", "media");
  if (media.kind === "photo") {
    const img = el("img");
    img.src = media.url;
    img.alt = media.file_name || "photo";
    box.append(img);
  } else if (["video", "animation", "video_note"].includes(media.kind)) {
    const video = el("video");
    video.src = media.url;
    video.controls = media.kind !== "animation";
    video.preload = "metadata";
    if (media.kind === "animation") {
      Object.assign(video, { autoplay: true, loop: true, muted: true });
    }
    video.title = `${media.kind} ${media.width}×${media.height}, ${media.duration}s`;
    box.append(video);
  } else if (["audio", "voice"].includes(media.kind)) {
    const audio = el("audio");
    audio.src = media.url;
    audio.controls = true;
    audio.preload = "metadata";
    box.append(audio);
  } else {
    box.className = "doc";
    const link = el("a", "", media.file_name || "document");
    link.href = media.url;
    link.download = media.file_name || "";
    const info = el("div");
    info.append(link, el("div", "doc-size", `${humanSize(media.file_size)} · ${media.mime_type}`));
    const icon = el("div", "doc-icon");
    icon.innerHTML = DOC_ICON; // a constant of this file, not data
    box.append(icon, info);
  }
  return box;
}

function buildKeyboard(message) {
  const keyboard = el("div", "keyboard");
  for (const row of message.buttons) {
    const line = el("div", "keyboard-row");
    for (const button of row) {
      const node = el("button", button.url ? "url" : "", button.text);
      node.type = "button";
      node.addEventListener("click", () => pressButton(message, button));
      line.append(node);
    }
    keyboard.append(line);
  }
  return keyboard;
}

function buildMessage(message) {
  const kind = message.payment ? "service" : message.from;
  const row = el("div", `row ${kind}`);
  row.dataset.messageId = message.message_id;
  const bubble = el("div", "bubble");
  if (message.payment) {
    const p = message.payment;
    bubble.textContent = `You paid ${amount(p.currency, p.total_amount)}`;
    row.append(bubble);
    return row;
  }
  if (message.media) bubble.append(buildMedia(message.media));
  if (message.invoice) {
    const inv = message.invoice;
    bubble.append(el("div", "invoice-title", inv.title), el("div", "text", inv.description));
    bubble.append(el("div", "invoice-amount", amount(inv.currency, inv.total_amount)));
    if (message.paid) bubble.append(el("div", "paid-badge", "Paid ✓"));
  }
  if (message.html) {
    const text = el("div", "text");
    text.innerHTML = message.html; // the server escapes everything but Telegram's own formatting tags
    bubble.append(text);
  }
  const time = new Date(message.date * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  bubble.append(el("div", "meta", `${message.edited ? "edited " : ""}${time}`));
  row.append(bubble);
  if (message.buttons.length && !(message.invoice && message.paid)) row.append(buildKeyboard(message));
  return row;
}

function renderMessages(messages) {
  const box = $("#messages");
  const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  const visible = messages.filter((m) => !m.deleted);
  const keep = new Set(visible.map((m) => m.message_id));
  for (const [id, entry] of state.rendered) {
    if (!keep.has(id)) {
      entry.node.remove();
      state.rendered.delete(id);
    }
  }
  let previous = null;
  let added = false;
  for (const message of visible) {
    const signature = JSON.stringify(message);
    let entry = state.rendered.get(message.message_id);
    if (!entry || entry.signature !== signature) {
      const node = buildMessage(message);
      if (entry) entry.node.replaceWith(node);
      entry = { node, signature };
      state.rendered.set(message.message_id, entry);
      added = true;
    }
    const expected = previous ? previous.nextSibling : box.firstChild;
    if (expected !== entry.node) box.insertBefore(entry.node, expected);
    previous = entry.node;
  }
  if (!visible.length && !box.querySelector(".empty")) {
    box.append(el("div", "empty", "No messages yet — send /start"));
  } else if (visible.length) {
    box.querySelector(".empty")?.remove();
  }
  if (added && (nearBottom || box.scrollTop === 0)) box.scrollTop = box.scrollHeight;
}

function renderReplyKeyboard(keyboard) {
  const box = $("#reply-keyboard");
  box.replaceChildren();
  box.hidden = !keyboard;
  if (!keyboard) return;
  for (const row of keyboard) {
    const line = el("div", "keyboard-row");
    for (const text of row) {
      const node = el("button", "", text);
      node.type = "button";
      node.addEventListener("click", () => sendText(text));
      line.append(node);
    }
    box.append(line);
  }
}

// Only the wait loop moves `state.change` forward (except on the first load): if a refresh did, a callback
// answer that landed between two waits would be skipped and its toast never shown.
async function refresh(first = false) {
  const userId = state.userId;
  const response = await fetch(`/control/users/${userId}/messages`);
  if (!response.ok) return;
  const messages = await response.json();
  if (userId !== state.userId) return;
  if (first) state.change = Number(response.headers.get("X-Change") || 0);
  renderMessages(messages);
  const user = await api("GET", `/control/users/${userId}`);
  if (userId !== state.userId) return;
  $("#blocked").checked = user.blocked;
  renderReplyKeyboard(user.reply_keyboard);
}

function showTyping(action) {
  const status = $("#chat-status");
  status.textContent = action === "typing" ? "typing…" : `${action.replaceAll("_", " ")}…`;
  status.classList.add("typing");
  clearTimeout(state.typingTimer);
  state.typingTimer = setTimeout(() => {
    status.textContent = "bot";
    status.classList.remove("typing");
  }, 5000);
}

async function waitLoop(loop) {
  while (loop === state.loop) {
    try {
      const url = `/control/users/${state.userId}/wait?since=${state.change}&timeout=25&all=1`;
      const result = await api("GET", url);
      if (loop !== state.loop) return;
      state.change = Math.max(state.change, result.change);
      for (const change of result.changes) {
        if (change.kind === "chat_action") showTyping(change.action);
        if (change.kind === "callback_answer" && change.text) {
          if (change.show_alert) showAlert(change.text);
          else toast(change.text);
        }
        if (change.kind === "message" && change.by === "bot") {
          clearTimeout(state.typingTimer);
          $("#chat-status").textContent = "bot";
          $("#chat-status").classList.remove("typing");
        }
      }
      if (result.changes.length) await refresh();
    } catch (error) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

// -- acting as the user -----------------------------------------------------------------------------------
async function sendText(text) {
  if (!text.trim() || state.userId === null) return;
  try {
    await api("POST", `/control/users/${state.userId}/send`, { text });
    await refresh();
  } catch (error) {
    toast(error.message);
  }
}

async function pressButton(message, button) {
  try {
    if (button.url) {
      window.open(button.url, "_blank", "noopener");
    } else if (button.pay) {
      toast("Paying…");
      const result = await api("POST", `/control/users/${state.userId}/pay`, { message_id: message.message_id });
      toast(result.status === "paid" ? "Payment done" : `Payment ${result.status}: ${result.error_message || result.error}`);
    } else {
      await api("POST", `/control/users/${state.userId}/click`, {
        message_id: message.message_id,
        callback_data: button.callback_data,
      });
    }
    await refresh();
  } catch (error) {
    toast(error.message);
  }
}

async function uploadFile(file) {
  const form = new FormData();
  form.append("file", file, file.name);
  const kind = $("#upload-kind").value;
  if (kind) form.append("kind", kind);
  const caption = $("#text").value.trim();
  if (caption) form.append("caption", caption);
  try {
    await api("POST", `/control/users/${state.userId}/upload`, form);
    $("#text").value = "";
    await refresh();
  } catch (error) {
    toast(error.message);
  }
}

async function toggleCommands() {
  const box = $("#commands");
  if (!box.hidden) {
    box.hidden = true;
    return;
  }
  const all = await api("GET", "/control/commands");
  const user = state.users.find((u) => u.id === state.userId);
  const language = user && user.language_code ? user.language_code : "";
  // As Telegram: the chat's own menu (an admin's, say) first, then the menu for everyone.
  const commands =
    all[`chat:${state.userId}:${language}`] || all[`chat:${state.userId}:`] ||
    all[`default:${language}`] || all["default:"] || [];
  box.replaceChildren();
  if (!commands.length) box.append(el("div", "", "The bot set no commands"));
  for (const command of commands) {
    const item = el("div");
    item.append(el("span", "cmd", `/${command.command}`), document.createTextNode(command.description));
    item.addEventListener("click", () => {
      box.hidden = true;
      sendText(`/${command.command}`);
    });
    box.append(item);
  }
  box.hidden = false;
}

function wire() {
  $("#composer").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("#text");
    const text = input.value;
    input.value = "";
    await sendText(text);
  });
  $("#attach-button").addEventListener("click", () => $("#file-input").click());
  $("#file-input").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    event.target.value = "";
    if (file) await uploadFile(file);
  });
  $("#menu-button").addEventListener("click", toggleCommands);
  $("#alert-ok").addEventListener("click", () => { $("#alert").hidden = true; });
  $("#blocked").addEventListener("change", async (event) => {
    await api("POST", `/control/users/${state.userId}/block`, { blocked: event.target.checked });
  });
  $("#new-user").addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(event.target));
    const body = { id: Number(data.id), first_name: data.first_name };
    if (data.username) body.username = data.username;
    if (data.language_code) body.language_code = data.language_code;
    try {
      await api("POST", "/control/users", body);
      event.target.reset();
      await loadUsers();
      await selectUser(body.id);
    } catch (error) {
      toast(error.message);
    }
  });
}

async function main() {
  wire();
  const info = await api("GET", "/control/state");
  state.bot = info.bot;
  $("#bot-name").textContent = `@${info.bot.username}`;
  $("#chat-title").textContent = info.bot.first_name;
  $("#bot-avatar").textContent = initials(info.bot.first_name);
  await loadUsers();
  if (!state.users.length) {
    const language = (navigator.language || "en").slice(0, 2);
    await api("POST", "/control/users", { id: 1001, first_name: "You", language_code: language });
    await loadUsers();
  }
  const wanted = Number(new URLSearchParams(location.hash.slice(1)).get("user"))
    || Number(localStorage.getItem("localtg.user"));
  const known = state.users.some((u) => u.id === wanted);
  await selectUser(known ? wanted : state.users[0].id);
  setInterval(() => loadUsers().catch(() => {}), 5000);
}

main().catch((error) => toast(`Cannot reach the server: ${error.message}`));
