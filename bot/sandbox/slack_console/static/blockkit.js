// Block Kit as Slack shows it: one function per block type and per element type the app may send.
//
// BLOCKS and ELEMENTS below are the whole list of what the console can render (the selects are in selects.js,
// what the person enters is kept by inputs.js); anything else shows as
// "cannot be shown here" and is logged as an error (tests/sandbox/test_slack_console.py checks that every
// type SeatSync builds is listed). A surface is rendered with a context `ctx` from console.js:
//   ctx.directory, ctx.people, ctx.conversations   names for mentions, user and conversation selects
//   ctx.values    {block_id: {action_id: choice}}: what the person entered in a view (null for messages)
//   ctx.errors    {block_id: message} shown under input blocks
//   ctx.act(place, element, choice)       the person used an element: block_actions
//   ctx.suggest(place, element, typed)    they typed into an external select: block_suggestion -> options
//   ctx.confirm(dialog)                   Slack's confirm dialog -> Promise<boolean>
// A "choice" is what Slack puts in a view's state: an option object, a list of them, a user or conversation
// id (or a list), a date "YYYY-MM-DD", a time "HH:MM", or the text typed (null when empty).

import { choose, currentChoice } from "./inputs.js";
import { plainText, renderMrkdwn, renderText } from "./mrkdwn.js";
import {
  channelOptions,
  conversationOptions,
  peopleOptions,
  renderExternalSelect,
  renderIdMultiSelect,
  renderIdSelect,
  renderMultiExternalSelect,
  renderMultiStaticSelect,
  renderStaticSelect,
} from "./selects.js";

export const BLOCKS = {
  section: renderSection,
  header: renderHeader,
  context: renderContext,
  divider: renderDivider,
  actions: renderActions,
  input: renderInput,
  image: renderImageBlock,
  markdown: renderMarkdownBlock,
};

export const ELEMENTS = {
  button: renderButton,
  overflow: renderOverflow,
  image: renderImageElement,
  static_select: renderStaticSelect,
  external_select: renderExternalSelect,
  multi_static_select: renderMultiStaticSelect,
  multi_external_select: renderMultiExternalSelect,
  users_select: (el, ctx, place, choice) => renderIdSelect(el, ctx, place, choice, peopleOptions(ctx)),
  multi_users_select: (el, ctx, place, choice) => renderIdMultiSelect(el, ctx, place, choice, peopleOptions(ctx)),
  conversations_select: (el, ctx, place, choice) => renderIdSelect(el, ctx, place, choice, conversationOptions(ctx, el)),
  multi_conversations_select: (el, ctx, place, choice) =>
    renderIdMultiSelect(el, ctx, place, choice, conversationOptions(ctx, el)),
  channels_select: (el, ctx, place, choice) => renderIdSelect(el, ctx, place, choice, channelOptions(ctx)),
  multi_channels_select: (el, ctx, place, choice) => renderIdMultiSelect(el, ctx, place, choice, channelOptions(ctx)),
  checkboxes: renderCheckboxes,
  radio_buttons: renderRadioButtons,
  plain_text_input: renderTextInput,
  number_input: renderTextInput,
  email_text_input: renderTextInput,
  url_text_input: renderTextInput,
  datepicker: renderDatepicker,
  timepicker: renderTimepicker,
};


let uniqueId = 0;

// --- surfaces ------------------------------------------------------------------------------------

export function renderBlocks(blocks, ctx) {
  const container = document.createElement("div");
  container.className = "bk-blocks";
  for (const block of blocks || []) container.append(renderBlock(block, ctx));
  return container;
}

function renderBlock(block, ctx) {
  const render = BLOCKS[block.type];
  if (!render) {
    console.error(`Slack console: no renderer for block type ${block.type}`);
    return unsupported(`block “${block.type}”`);
  }
  const node = render(block, ctx);
  node.dataset.blockId = block.block_id ?? "";
  node.dataset.blockType = block.type;
  return node;
}

function renderElement(element, ctx, place) {
  const render = ELEMENTS[element.type];
  if (!render) {
    console.error(`Slack console: no renderer for element type ${element.type}`);
    return unsupported(`element “${element.type}”`);
  }
  const node = render(element, ctx, place, currentChoice(ctx, place, element));
  node.dataset.actionId = element.action_id ?? "";
  node.dataset.elementType = element.type;
  return node;
}

function unsupported(what) {
  const node = document.createElement("div");
  node.className = "bk-unsupported";
  node.textContent = `This ${what} cannot be shown in the console.`;
  return node;
}

// --- blocks --------------------------------------------------------------------------------------

function renderSection(block, ctx) {
  const node = document.createElement("div");
  node.className = "bk-section";
  const main = document.createElement("div");
  main.className = "bk-section-main";
  if (block.text) {
    const text = document.createElement("div");
    text.className = "bk-text";
    text.append(renderText(block.text, ctx.directory));
    main.append(text);
  }
  if (block.fields?.length) {
    const fields = document.createElement("div");
    fields.className = "bk-fields";
    for (const field of block.fields) {
      const cell = document.createElement("div");
      cell.className = "bk-field";
      cell.append(renderText(field, ctx.directory));
      fields.append(cell);
    }
    main.append(fields);
  }
  node.append(main);
  if (block.accessory) {
    const accessory = document.createElement("div");
    accessory.className = "bk-accessory";
    accessory.append(renderElement(block.accessory, ctx, { blockId: block.block_id, inInput: false }));
    node.append(accessory);
  }
  return node;
}

function renderHeader(block) {
  const node = document.createElement("h3");
  node.className = "bk-header";
  node.append(renderText(block.text));
  return node;
}

function renderContext(block, ctx) {
  const node = document.createElement("div");
  node.className = "bk-context";
  for (const element of block.elements || []) {
    if (element.type === "image") {
      node.append(renderImageElement(element));
    } else {
      const text = document.createElement("span");
      text.className = "bk-context-text";
      text.append(renderText(element, ctx.directory));
      node.append(text);
    }
  }
  return node;
}

function renderDivider() {
  const node = document.createElement("hr");
  node.className = "bk-divider";
  return node;
}

function renderActions(block, ctx) {
  const node = document.createElement("div");
  node.className = "bk-actions";
  for (const element of block.elements || []) {
    node.append(renderElement(element, ctx, { blockId: block.block_id, inInput: false }));
  }
  return node;
}

function renderInput(block, ctx) {
  const node = document.createElement("div");
  node.className = "bk-input";
  const id = `bk-input-${++uniqueId}`;
  const label = document.createElement("label");
  label.className = "bk-label";
  label.htmlFor = id;
  label.append(renderText(block.label));
  if (block.optional) {
    const optional = document.createElement("span");
    optional.className = "bk-optional";
    optional.textContent = " (optional)";
    label.append(optional);
  }
  node.append(label);
  const place = { blockId: block.block_id, inInput: true, dispatch: Boolean(block.dispatch_action), id };
  node.append(renderElement(block.element, ctx, place));
  if (block.hint) {
    const hint = document.createElement("div");
    hint.className = "bk-hint";
    hint.append(renderText(block.hint));
    node.append(hint);
  }
  const error = ctx.errors?.[block.block_id];
  if (error) {
    node.classList.add("bk-has-error");
    const message = document.createElement("div");
    message.className = "bk-error";
    message.setAttribute("role", "alert");
    message.textContent = error;
    node.append(message);
  }
  return node;
}

function renderImageBlock(block) {
  const node = document.createElement("figure");
  node.className = "bk-image";
  if (block.title) {
    const caption = document.createElement("figcaption");
    caption.append(renderText(block.title));
    node.append(caption);
  }
  node.append(imageOrPlaceholder(block.image_url, block.alt_text, "bk-image-picture"));
  return node;
}

function renderMarkdownBlock(block, ctx) {
  const node = document.createElement("div");
  node.className = "bk-markdown";
  node.append(renderMrkdwn(block.text, ctx.directory));
  return node;
}

// --- elements ------------------------------------------------------------------------------------

function styled(node, element) {
  if (element.style === "primary") node.classList.add("bk-primary");
  if (element.style === "danger") node.classList.add("bk-danger");
  return node;
}

function safeUrl(url) {
  try {
    const parsed = new URL(url);
    return ["http:", "https:"].includes(parsed.protocol) ? parsed.href : null;
  } catch {
    return null;
  }
}

function renderButton(element, ctx, place) {
  const href = element.url ? safeUrl(element.url) : null;
  const node = styled(document.createElement(href ? "a" : "button"), element);
  node.classList.add("bk-button");
  if (href) {
    node.href = href;
    node.target = "_blank";
    node.rel = "noopener noreferrer";
  } else {
    node.type = "button";
  }
  node.append(renderText(element.text));
  if (element.accessibility_label) node.setAttribute("aria-label", element.accessibility_label);
  node.addEventListener("click", async (event) => {
    if (element.confirm) {
      event.preventDefault();
      if (!(await ctx.confirm(element.confirm))) return;
      if (href) window.open(href, "_blank", "noopener");
    }
    ctx.act(place, element, null);  // a link button still tells the app, as Slack does
  });
  return node;
}

function renderOverflow(element, ctx, place) {
  const node = document.createElement("div");
  node.className = "bk-overflow";
  const toggle = document.createElement("button");
  toggle.type = "button";
  toggle.className = "bk-button bk-overflow-toggle";
  toggle.setAttribute("aria-label", "More actions");
  toggle.setAttribute("aria-haspopup", "menu");
  toggle.textContent = "⋮";
  const menu = document.createElement("ul");
  menu.className = "bk-menu";
  menu.setAttribute("role", "menu");
  menu.hidden = true;
  for (const option of element.options || []) {
    const item = document.createElement("li");
    item.setAttribute("role", "menuitem");
    item.tabIndex = -1;
    item.dataset.value = option.value ?? "";
    item.append(renderText(option.text));
    item.addEventListener("click", async () => {
      menu.hidden = true;
      if (element.confirm && !(await ctx.confirm(element.confirm))) return;
      const href = option.url ? safeUrl(option.url) : null;
      if (href) window.open(href, "_blank", "noopener");
      ctx.act(place, element, option);
    });
    menu.append(item);
  }
  toggle.addEventListener("click", () => {
    menu.hidden = !menu.hidden;
  });
  node.addEventListener("focusout", (event) => {
    if (!node.contains(event.relatedTarget)) menu.hidden = true;
  });
  node.append(toggle, menu);
  return node;
}

function renderImageElement(element) {
  return imageOrPlaceholder(element.image_url, element.alt_text, "bk-image-element");
}

function imageOrPlaceholder(url, alt, className) {
  // The sandbox is offline and the page loads nothing from elsewhere: data: images show, others are their alt text
  if (typeof url === "string" && url.startsWith("data:image/")) {
    const img = document.createElement("img");
    img.className = className;
    img.src = url;
    img.alt = alt ?? "";
    return img;
  }
  const span = document.createElement("span");
  span.className = `${className} bk-image-placeholder`;
  span.setAttribute("role", "img");
  span.setAttribute("aria-label", alt ?? "");
  span.title = alt ?? "";
  span.textContent = "🖼";
  return span;
}

function renderChoices(element, ctx, place, chosen, kind) {
  const node = document.createElement("div");
  node.className = `bk-${kind}`;
  node.setAttribute("role", kind === "radio" ? "radiogroup" : "group");
  const name = `bk-${kind}-${++uniqueId}`;
  const inputs = [];
  for (const option of element.options || []) {
    const row = document.createElement("label");
    row.className = "bk-choice";
    const input = document.createElement("input");
    input.type = kind;
    input.name = name;
    input.value = option.value ?? "";
    input.checked = chosen.some((c) => c?.value === option.value);
    inputs.push([input, option]);
    const words = document.createElement("span");
    words.className = "bk-choice-text";
    words.append(renderText(option.text, ctx.directory));
    if (option.description) {
      const description = document.createElement("span");
      description.className = "bk-choice-description";
      description.append(renderText(option.description, ctx.directory));
      words.append(description);
    }
    row.append(input, words);
    node.append(row);
    input.addEventListener("change", () => {
      const checked = inputs.filter(([box]) => box.checked).map(([, o]) => o);
      choose(ctx, place, element, kind === "radio" ? checked[0] ?? null : checked);
    });
  }
  if (place.id && inputs.length) inputs[0][0].id = place.id;
  return node;
}

function renderCheckboxes(element, ctx, place, choice) {
  return renderChoices(element, ctx, place, choice || [], "checkbox");
}

function renderRadioButtons(element, ctx, place, choice) {
  return renderChoices(element, ctx, place, choice ? [choice] : [], "radio");
}

function renderTextInput(element, ctx, place, choice) {
  const multiline = element.type === "plain_text_input" && element.multiline;
  const input = document.createElement(multiline ? "textarea" : "input");
  input.className = "bk-text-input";
  if (!multiline) {
    input.type = { email_text_input: "email", url_text_input: "url" }[element.type] ?? "text";
  }
  if (element.type === "number_input") input.inputMode = element.is_decimal_allowed ? "decimal" : "numeric";
  if (place.id) input.id = place.id;
  input.placeholder = plainText(element.placeholder);
  input.value = choice ?? "";
  const triggers = element.dispatch_action_config?.trigger_actions_on ?? ["on_enter_pressed"];
  input.addEventListener("input", () => {
    choose(ctx, place, element, input.value === "" ? null : input.value,
      { send: triggers.includes("on_character_entered") });
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !multiline && place.dispatch && triggers.includes("on_enter_pressed")) {
      event.preventDefault();
      choose(ctx, place, element, input.value === "" ? null : input.value);
    }
  });
  return input;
}

function renderDatepicker(element, ctx, place, choice) {
  return renderPicker(element, ctx, place, choice, "date");
}

function renderTimepicker(element, ctx, place, choice) {
  return renderPicker(element, ctx, place, choice, "time");
}

function renderPicker(element, ctx, place, choice, type) {
  const input = document.createElement("input");
  input.type = type;
  input.className = "bk-picker";
  if (place.id) input.id = place.id;
  input.value = choice ?? "";
  input.addEventListener("change", () => choose(ctx, place, element, input.value || null));
  return input;
}
