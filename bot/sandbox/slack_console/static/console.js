// The Slack console: a person's Slack in the browser, driven by the sandbox's simulated workspace.
//
// The page follows one person (?as=U…) in one place (?channel=C…, a DM, or "home"): it listens to
// api/stream (server-sent events carrying everything that person sees) and re-renders what changed; what
// the person does goes to api/<command|action|submit|close|suggest|home>, where the console's server turns
// it into the signed request Slack would send the app. Nothing here talks to the app directly.

import { BLOCKS, ELEMENTS, renderBlocks } from "./blockkit.js";
import { inputValues, validateInputs, viewValues } from "./inputs.js";
import { plainText, renderMrkdwn, renderText } from "./mrkdwn.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const HOME = "home";

const ui = {
  user: params.get("as") || "",
  place: params.get("channel") || "",
  state: null,
  stream: null,
  values: {},  // view id -> {block_id: {action_id: choice}}: what the person entered in that view
  errors: {},  // view id -> {block_id: message}
  shown: { modal: "", home: "", messages: "", people: "", calls: "" },
  seen: {},  // channel id -> the newest ts the person has seen there
  busy: false,
};

// --- talking to the console's server ------------------------------------------------------------

async function post(path, body) {
  let response;
  try {
    response = await fetch(`api/${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user: ui.user, ...body }),
    });
  } catch (error) {
    toast(`The console cannot be reached (${error.message}).`, "error");
    return null;
  }
  let answer = {};
  try {
    answer = await response.json();
  } catch {
    answer = {};
  }
  if (!response.ok) {
    toast(answer.error || `The console answered HTTP ${response.status}.`, "error");
    return null;
  }
  if (answer.notice) toast(answer.notice, "warning");
  return answer;
}

function connect() {
  if (ui.stream) ui.stream.close();
  const query = ui.user ? `?user=${encodeURIComponent(ui.user)}` : "";
  ui.stream = new EventSource(`api/stream${query}`);
  ui.stream.onopen = () => setConnected(true);
  ui.stream.onerror = () => setConnected(false);
  ui.stream.onmessage = (event) => {
    const first = ui.state === null || ui.state.me.id !== JSON.parse(event.data).me.id;
    ui.state = JSON.parse(event.data);
    ui.user = ui.state.me.id;
    render();
    if (first && ui.place === HOME) post("home", {});  // the page opened on the Home tab
  };
}

function setConnected(connected) {
  document.body.classList.toggle("offline", !connected);
  $("connection").textContent = connected ? "" : "Reconnecting to the sandbox…";
}

// --- the whole page ------------------------------------------------------------------------------

function render() {
  const state = ui.state;
  if (!validPlace(state, ui.place)) ui.place = defaultPlace(state);
  document.title = `${placeName(state, ui.place)} · ${state.team.name} · Slack console`;
  renderSidebar(state);
  renderMain(state);
  renderModal(state);
  renderCalls(state);
  const query = new URLSearchParams({ as: ui.user, channel: ui.place });
  history.replaceState(null, "", `?${query}`);
}

function dm(state) {
  return state.channels.find((c) => c.kind === "im");
}

function validPlace(state, place) {
  return place === HOME || state.channels.some((c) => c.id === place);
}

function defaultPlace(state) {
  const withBot = state.channels.find((c) => c.kind !== "im" && c.bot_is_member && c.name !== "general");
  return (withBot || state.channels.find((c) => c.kind !== "im") || dm(state) || { id: HOME }).id;
}

function placeName(state, place) {
  if (place === HOME || place === dm(state)?.id) return state.app.name;
  const channel = state.channels.find((c) => c.id === place);
  return channel ? `#${channel.name}` : "";
}

function go(place) {
  ui.place = place;
  render();
  if (place === HOME) post("home", {});  // Slack sends app_home_opened each time the tab is opened
}

// --- sidebar -------------------------------------------------------------------------------------

function renderSidebar(state) {
  $("team-name").textContent = state.team.name;
  const peopleKey = JSON.stringify([state.people, state.me.id]);
  if (peopleKey !== ui.shown.people) {
    ui.shown.people = peopleKey;
    const select = $("person");
    select.replaceChildren();
    for (const person of state.people) {
      const option = document.createElement("option");
      option.value = person.id;
      const about = [...person.roles, ...person.groups].join(", ");
      option.textContent = about ? `${person.real_name} (${about})` : person.real_name;
      option.selected = person.id === state.me.id;
      select.append(option);
    }
    const me = state.me;
    $("person-about").textContent = [me.title, ...me.roles, ...me.groups].filter(Boolean).join(" · ");
  }
  const list = $("channel-list");
  list.replaceChildren();
  for (const channel of state.channels.filter((c) => c.kind !== "im")) {
    list.append(sidebarItem(state, channel.id, `${channel.kind === "private" ? "🔒" : "#"} ${channel.name}`,
      channel.bot_is_member ? null : "SeatSync is not in this channel"));
  }
  const apps = $("app-list");
  apps.replaceChildren(sidebarItem(state, HOME, state.app.name, null, dm(state)?.id));
  const url = state.app.request_url;
  $("request-url").textContent = url ? `App's request URL: ${url}` : "No app connected: set the sandbox's Slack request URL.";
  renderWorkspaces(state);
}

// Other workspaces of the simulated Slack (each has a console of its own), and this one's way to install the app.
function renderWorkspaces(state) {
  const list = $("workspace-list");
  list.replaceChildren();
  for (const workspace of state.workspaces) {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = new URL(workspace.path, location.href).pathname;
    link.textContent = workspace.name;
    if (workspace.current) link.setAttribute("aria-current", "page");
    item.append(link);
    list.append(item);
  }
  list.hidden = $("workspaces-title").hidden = state.workspaces.length === 0;
  $("install").hidden = !state.install_url;
  if (state.install_url) $("install-link").href = state.install_url;
}

function sidebarItem(state, place, label, title, alsoPlace) {
  const item = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "sidebar-item";
  button.dataset.place = place;
  button.textContent = label;
  if (title) button.title = title;
  const active = ui.place === place || (alsoPlace && ui.place === alsoPlace);
  if (active) button.setAttribute("aria-current", "page");
  const unread = unreadCount(state, alsoPlace || place);
  if (unread && !active) {
    button.classList.add("unread");
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = String(unread);
    button.append(badge);
  }
  button.addEventListener("click", () => go(place === HOME && ui.place === alsoPlace ? alsoPlace : place));
  item.append(button);
  return item;
}

function unreadCount(state, channelId) {
  const messages = state.messages[channelId] || [];
  if (!(channelId in ui.seen)) {
    ui.seen[channelId] = messages.length ? messages[messages.length - 1].ts : "0";
    return 0;
  }
  return messages.filter((m) => m.ts > ui.seen[channelId]).length;
}

// --- conversation and App Home -------------------------------------------------------------------

function renderMain(state) {
  const isApp = ui.place === HOME || ui.place === dm(state)?.id;
  $("conversation-title").textContent = placeName(state, ui.place);
  const tabs = $("tabs");
  tabs.hidden = !isApp;
  for (const tab of tabs.querySelectorAll("button")) {
    const current = tab.dataset.tab === "home" ? ui.place === HOME : ui.place !== HOME;
    tab.setAttribute("aria-selected", String(current));
  }
  const home = ui.place === HOME;
  $("home").hidden = !home;
  $("messages").hidden = home;
  $("composer").hidden = home;
  if (home) {
    renderHome(state);
    ui.shown.messages = "";
  } else {
    renderMessages(state, ui.place);
    ui.shown.home = "";
    const channel = state.channels.find((c) => c.id === ui.place);
    $("composer-input").placeholder = channel.kind === "im"
      ? `Message ${state.app.name} — try /seats help`
      : `Message #${channel.name} — try /seats help`;
  }
}

function renderHome(state) {
  const view = state.home;
  const key = view ? `${view.id}:${view.hash}` : "none";
  if (key === ui.shown.home) return;
  ui.shown.home = key;
  const box = $("home");
  if (!view) {
    box.replaceChildren(paragraph("empty", `${state.app.name} has not published a Home tab for you yet.`));
    return;
  }
  ui.values[view.id] = viewValues(view, ui.values[view.id]);
  box.replaceChildren(renderBlocks(view.blocks, viewContext(state, view)));
}

function renderMessages(state, channelId) {
  const messages = state.messages[channelId] || [];
  const key = channelId + JSON.stringify(messages);
  if (key === ui.shown.messages) return;
  const box = $("messages");
  const sameChannel = ui.shown.messages.startsWith(channelId);
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
  ui.shown.messages = key;
  const previouslySeen = ui.seen[channelId] ?? "0";
  ui.seen[channelId] = messages.length ? messages[messages.length - 1].ts : "0";
  const list = document.createElement("div");
  list.className = "message-list";
  if (!messages.length) {
    list.append(paragraph("empty", `This is the very beginning of ${placeName(state, channelId)}.`));
  }
  const byTs = new Map();
  for (const message of messages) {
    const parent = message.thread_ts && message.thread_ts !== message.ts ? byTs.get(message.thread_ts) : null;
    const node = messageNode(state, channelId, message, sameChannel && message.ts > previouslySeen);
    if (parent) {
      parent.querySelector(".thread").append(node);
    } else {
      byTs.set(message.ts, node);
      list.append(node);
    }
  }
  box.replaceChildren(list);
  if (atBottom || !sameChannel) box.scrollTop = box.scrollHeight;
}

function messageNode(state, channelId, message, fresh) {
  const node = document.createElement("article");
  node.className = "message";
  if (message.ephemeral) node.classList.add("ephemeral");
  if (fresh) node.classList.add("fresh");
  node.dataset.ts = message.ts;
  const avatar = document.createElement("div");
  avatar.className = `avatar${message.bot ? " bot" : ""}`;
  avatar.setAttribute("aria-hidden", "true");
  avatar.textContent = (message.author || "?").slice(0, 1);
  const body = document.createElement("div");
  body.className = "message-body";
  const meta = document.createElement("div");
  meta.className = "meta";
  const author = document.createElement("span");
  author.className = "author";
  author.textContent = message.author;
  meta.append(author);
  if (message.bot && message.user !== "USLACKBOT") {
    const badge = document.createElement("span");
    badge.className = "app-badge";
    badge.textContent = "APP";
    meta.append(badge);
  }
  const time = document.createElement("time");
  const when = new Date(Number(message.ts) * 1000);
  time.dateTime = when.toISOString();
  time.textContent = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  meta.append(time);
  body.append(meta);
  if (message.ephemeral) body.append(paragraph("only-you", "Only visible to you"));
  const context = messageContext(state, channelId, message.ts);
  if (message.blocks?.length) {
    body.append(renderBlocks(message.blocks, context));
  } else {
    const text = document.createElement("div");
    text.className = "message-text";
    text.append(renderMrkdwn(message.text, state.directory));
    body.append(text);
  }
  for (const attachment of message.attachments || []) body.append(attachmentNode(state, attachment, context));
  if (message.edited) body.append(paragraph("edited", "(edited)"));
  const thread = document.createElement("div");
  thread.className = "thread";
  body.append(thread);
  node.append(avatar, body);
  return node;
}

function attachmentNode(state, attachment, context) {
  const node = document.createElement("div");
  node.className = "attachment";
  if (attachment.color) node.style.borderLeftColor = /^#?[0-9a-f]{3,6}$/i.test(attachment.color)
    ? (attachment.color.startsWith("#") ? attachment.color : `#${attachment.color}`)
    : { good: "#2eb67d", warning: "#ecb22e", danger: "#e01e5a" }[attachment.color] ?? "";
  for (const key of ["pretext", "title", "text"]) {
    if (attachment[key]) {
      const part = document.createElement("div");
      part.className = `attachment-${key}`;
      part.append(renderMrkdwn(attachment[key], state.directory));
      node.append(part);
    }
  }
  if (attachment.fields?.length) {
    const fields = document.createElement("div");
    fields.className = "bk-fields";
    for (const field of attachment.fields) {
      const cell = document.createElement("div");
      cell.className = "bk-field";
      const title = document.createElement("strong");
      title.textContent = field.title ?? "";
      cell.append(title, document.createElement("br"), renderMrkdwn(field.value ?? "", state.directory));
      fields.append(cell);
    }
    node.append(fields);
  }
  if (attachment.blocks?.length) node.append(renderBlocks(attachment.blocks, context));
  return node;
}

function paragraph(className, text) {
  const node = document.createElement("p");
  node.className = className;
  node.textContent = text;
  return node;
}

// --- what elements do on a surface ---------------------------------------------------------------

function conversations(state) {
  const mine = new Set(state.channels.map((c) => c.id));
  return Object.entries(state.directory.channels)
    .filter(([id, c]) => c.kind === "channel" || (c.kind !== "channel" && mine.has(id)))
    .map(([id, c]) => ({ id, name: c.name, kind: c.kind, label: c.kind === "im" ? state.app.name : c.name }));
}

function baseContext(state) {
  return {
    directory: state.directory,
    people: state.people,
    conversations: conversations(state),
    confirm: confirmDialog,
  };
}

function messageContext(state, channel, ts) {
  const where = { channel, ts };
  return {
    ...baseContext(state),
    values: null,
    errors: {},
    act: (place, element, choice) => post("action", { where, action_id: element.action_id, block_id: place.blockId,
      choice }),
    suggest: (place, element, typed) => post("suggest", { where, action_id: element.action_id,
      block_id: place.blockId, value: typed }),
  };
}

function viewContext(state, view) {
  const where = { view_id: view.id };
  const values = ui.values[view.id];
  return {
    ...baseContext(state),
    values,
    errors: ui.errors[view.id]?.hash === view.hash ? ui.errors[view.id].errors : {},
    act: (place, element, choice) => post("action", { where, action_id: element.action_id, block_id: place.blockId,
      choice, values: inputValues(view, values) }),
    suggest: (place, element, typed) => post("suggest", { where, action_id: element.action_id,
      block_id: place.blockId, value: typed }),
  };
}

// --- modals --------------------------------------------------------------------------------------

function renderModal(state) {
  const layer = $("modal-layer");
  const stack = state.modals || [];
  if (!stack.length) {
    layer.hidden = true;
    layer.replaceChildren();
    ui.shown.modal = "";
    return;
  }
  const view = stack[stack.length - 1];
  const errors = ui.errors[view.id]?.hash === view.hash ? ui.errors[view.id].errors : {};
  const key = `${view.id}:${view.hash}:${stack.length}:${JSON.stringify(errors)}`;
  if (key === ui.shown.modal) return;
  const focused = document.activeElement?.closest?.("[data-action-id]")?.dataset.actionId;
  ui.shown.modal = key;
  ui.values[view.id] = viewValues(view, ui.values[view.id]);

  const dialog = document.createElement("div");
  dialog.className = "modal";
  dialog.setAttribute("role", "dialog");
  dialog.setAttribute("aria-modal", "true");
  dialog.setAttribute("aria-labelledby", "modal-title");
  dialog.dataset.viewId = view.id;
  dialog.dataset.callbackId = view.callback_id || "";
  dialog.dataset.depth = String(stack.length);
  dialog.dataset.hash = view.hash;

  const header = document.createElement("header");
  if (stack.length > 1) header.append(iconButton("modal-back", "Back", "‹", () => closeModal(view, false)));
  const title = document.createElement("h2");
  title.id = "modal-title";
  title.textContent = plainText(view.title);
  header.append(title, iconButton("modal-x", "Close", "✕", () => closeModal(view, true)));

  const body = document.createElement("div");
  body.className = "modal-body";
  body.append(renderBlocks(view.blocks, viewContext(state, view)));

  const footer = document.createElement("footer");
  const close = document.createElement("button");
  close.type = "button";
  close.className = "bk-button modal-close";
  close.textContent = plainText(view.close) || "Cancel";
  close.addEventListener("click", () => closeModal(view, false));
  footer.append(close);
  if (view.submit) {
    const submit = document.createElement("button");
    submit.type = "button";
    submit.className = "bk-button bk-primary modal-submit";
    submit.textContent = plainText(view.submit);
    submit.addEventListener("click", () => submitModal(view, submit));
    footer.append(submit);
  }
  dialog.append(header, body, footer);
  layer.replaceChildren(dialog);
  layer.hidden = false;
  const again = focused && dialog.querySelector(`[data-action-id="${CSS.escape(focused)}"]`);
  if (again && again.matches("input, select, textarea")) again.focus({ preventScroll: true });
}

function iconButton(className, label, text, onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = className;
  button.setAttribute("aria-label", label);
  button.textContent = text;
  button.addEventListener("click", onClick);
  return button;
}

async function closeModal(view, cleared) {
  delete ui.errors[view.id];
  await post("close", { view_id: view.id, cleared });
}

async function submitModal(view, button) {
  const values = ui.values[view.id];
  const problems = validateInputs(view, values);
  if (Object.keys(problems).length) {
    showErrors(view, problems);
    return;
  }
  button.disabled = true;
  button.classList.add("bk-loading");
  const answer = await post("submit", { view_id: view.id, values: inputValues(view, values) });
  button.disabled = false;
  button.classList.remove("bk-loading");
  if (answer?.errors) showErrors(view, answer.errors);
}

function showErrors(view, errors) {
  ui.errors[view.id] = { hash: view.hash, errors };
  renderModal(ui.state);
}

// Slack's confirm dialog: resolves true when the person confirms.
function confirmDialog(dialog) {
  const layer = $("confirm-layer");
  return new Promise((resolve) => {
    const box = document.createElement("div");
    box.className = "confirm";
    box.setAttribute("role", "alertdialog");
    box.setAttribute("aria-modal", "true");
    box.setAttribute("aria-labelledby", "confirm-title");
    const title = document.createElement("h2");
    title.id = "confirm-title";
    title.textContent = plainText(dialog.title) || "Are you sure?";
    const text = document.createElement("div");
    text.className = "confirm-text";
    text.append(renderText(dialog.text, ui.state.directory));
    const buttons = document.createElement("footer");
    const finish = (answer) => {
      layer.hidden = true;
      layer.replaceChildren();
      resolve(answer);
    };
    const deny = document.createElement("button");
    deny.type = "button";
    deny.className = "bk-button confirm-deny";
    deny.textContent = plainText(dialog.deny) || "Cancel";
    deny.addEventListener("click", () => finish(false));
    const confirm = document.createElement("button");
    confirm.type = "button";
    confirm.className = `bk-button confirm-yes ${dialog.style === "danger" ? "bk-danger" : "bk-primary"}`;
    confirm.textContent = plainText(dialog.confirm) || "Yes";
    confirm.addEventListener("click", () => finish(true));
    buttons.append(deny, confirm);
    box.append(title, text, buttons);
    layer.replaceChildren(box);
    layer.hidden = false;
    confirm.focus();
  });
}

// --- the call log and toasts ---------------------------------------------------------------------

function renderCalls(state) {
  const key = JSON.stringify(state.calls);
  if (key === ui.shown.calls) return;
  ui.shown.calls = key;
  const failed = state.calls.filter((c) => !c.ok).length;
  $("calls-toggle").textContent = `Web API calls by ${state.app.name} (${state.calls.length} latest${
    failed ? `, ${failed} failed` : ""})`;
  const list = $("calls");
  list.replaceChildren();
  for (const call of [...state.calls].reverse()) {
    const item = document.createElement("li");
    item.className = call.ok ? "ok" : "failed";
    const when = new Date(call.at * 1000).toLocaleTimeString();
    item.textContent = `${when}  ${call.method}  ${call.ok ? "ok" : call.error || `HTTP ${call.status}`}`;
    list.append(item);
  }
}

function toast(text, level) {
  const node = document.createElement("div");
  node.className = `toast ${level}`;
  node.setAttribute("role", level === "error" ? "alert" : "status");
  node.textContent = text;
  $("toasts").append(node);
  setTimeout(() => node.remove(), 8000);
}

// --- set-up --------------------------------------------------------------------------------------

function setUp() {
  $("person").addEventListener("change", (event) => {
    ui.user = event.target.value;
    ui.values = {};
    ui.errors = {};
    ui.seen = {};
    ui.shown = { modal: "", home: "", messages: "", people: "", calls: "" };
    ui.state = null;
    if (ui.place !== HOME && !ui.place.startsWith("C") && !ui.place.startsWith("G")) ui.place = "";
    connect();
  });
  for (const tab of $("tabs").querySelectorAll("button")) {
    tab.addEventListener("click", () => go(tab.dataset.tab === "home" ? HOME : dm(ui.state).id));
  }
  const input = $("composer-input");
  $("composer").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || ui.busy) return;
    ui.busy = true;
    input.value = "";
    await post("command", { channel: ui.place, text });
    ui.busy = false;
    input.focus();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("calls-toggle").addEventListener("click", () => {
    const panel = $("calls");
    panel.hidden = !panel.hidden;
    $("calls-toggle").setAttribute("aria-expanded", String(!panel.hidden));
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !$("confirm-layer").hidden) return;
    const dialog = document.querySelector("#modal-layer .modal");
    const view = dialog && ui.state?.modals?.find((v) => v.id === dialog.dataset.viewId);
    if (view) closeModal(view, true);
  });
  connect();
}

// for people poking at the page from the browser's devtools, and for tests: what it holds and renders
window.slackConsole = { ui, blocks: Object.keys(BLOCKS), elements: Object.keys(ELEMENTS) };
setUp();
