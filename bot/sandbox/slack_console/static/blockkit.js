// Block Kit as Slack shows it: one function per block type and per element type the app may send.
//
// BLOCKS and ELEMENTS below are the whole list of what the console can render; anything else shows as
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

import { plainText, renderMrkdwn, renderText } from "./mrkdwn.js";

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

const NOT_STATEFUL = new Set(["button", "overflow", "image", "workflow_button"]);
const OPTION_ONE = new Set(["static_select", "external_select", "radio_buttons"]);
const OPTION_MANY = new Set(["multi_static_select", "multi_external_select", "checkboxes"]);
// element type -> [initial field, state field]
const PLAIN = {
  users_select: ["initial_user", "selected_user"],
  multi_users_select: ["initial_users", "selected_users"],
  conversations_select: ["initial_conversation", "selected_conversation"],
  multi_conversations_select: ["initial_conversations", "selected_conversations"],
  channels_select: ["initial_channel", "selected_channel"],
  multi_channels_select: ["initial_channels", "selected_channels"],
  datepicker: ["initial_date", "selected_date"],
  timepicker: ["initial_time", "selected_time"],
};
const REQUIRED = "Please complete this required field.";
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

// --- the person's input ----------------------------------------------------------------------------

function statefulElements(block) {
  const found = [];
  if (block.type === "input" && block.element) found.push(block.element);
  if (block.type === "section" && block.accessory) found.push(block.accessory);
  if (block.type === "actions") found.push(...(block.elements || []));
  return found.filter((el) => el && el.action_id && !NOT_STATEFUL.has(el.type));
}

export function initialChoice(element) {
  const type = element.type;
  if (OPTION_ONE.has(type)) return element.initial_option ?? null;
  if (OPTION_MANY.has(type)) return element.initial_options ?? [];
  if (PLAIN[type]) return element[PLAIN[type][0]] ?? (type.startsWith("multi_") ? [] : null);
  return element.initial_value ?? null;
}

function choiceFromState(element, entry) {
  const type = element.type;
  if (OPTION_ONE.has(type)) return entry.selected_option ?? null;
  if (OPTION_MANY.has(type)) return entry.selected_options ?? [];
  if (PLAIN[type]) return entry[PLAIN[type][1]] ?? (type.startsWith("multi_") ? [] : null);
  return entry.value ?? null;
}

// What a view's inputs hold now: the person's earlier input where the block and element are still there
// (Slack keeps it across views.update while the block_id stays), else the view's state, else the initial.
export function viewValues(view, previous) {
  const values = {};
  const server = view.state?.values ?? {};
  for (const block of view.blocks || []) {
    for (const element of statefulElements(block)) {
      const blockId = block.block_id;
      const actionId = element.action_id;
      let choice;
      if (previous?.[blockId] && actionId in previous[blockId]) choice = previous[blockId][actionId];
      else if (server[blockId]?.[actionId]) choice = choiceFromState(element, server[blockId][actionId]);
      else choice = initialChoice(element);
      (values[blockId] ??= {})[actionId] = choice;
    }
  }
  return values;
}

// The input blocks' part of `values`: what a view_submission (and a click in the view) carries.
export function inputValues(view, values) {
  const inputs = {};
  for (const block of view.blocks || []) {
    if (block.type === "input" && block.element?.action_id && values?.[block.block_id]) {
      const actionId = block.element.action_id;
      inputs[block.block_id] = { [actionId]: values[block.block_id][actionId] ?? null };
    }
  }
  return inputs;
}

function isEmpty(choice) {
  return choice === null || choice === undefined || choice === "" || (Array.isArray(choice) && choice.length === 0);
}

// What Slack's client says before it lets a person submit: {block_id: message}.
export function validateInputs(view, values) {
  const errors = {};
  for (const block of view.blocks || []) {
    if (block.type !== "input" || !block.element) continue;
    const element = block.element;
    const choice = values?.[block.block_id]?.[element.action_id];
    if (isEmpty(choice)) {
      if (!block.optional) errors[block.block_id] = REQUIRED;
      continue;
    }
    const problem = textProblem(element, String(choice));
    if (typeof choice === "string" && problem) errors[block.block_id] = problem;
  }
  return errors;
}

function textProblem(element, text) {
  if (element.min_length && text.length < element.min_length) {
    return `Please enter at least ${element.min_length} characters.`;
  }
  if (element.max_length && text.length > element.max_length) {
    return `Please enter no more than ${element.max_length} characters.`;
  }
  if (element.type === "number_input") {
    const pattern = element.is_decimal_allowed ? /^-?\d+(\.\d+)?$/ : /^-?\d+$/;
    if (!pattern.test(text.trim())) {
      return element.is_decimal_allowed ? "Please enter a number." : "Please enter a whole number.";
    }
    const number = Number(text);
    if (element.min_value !== undefined && number < Number(element.min_value)) {
      return `Please enter a number of at least ${element.min_value}.`;
    }
    if (element.max_value !== undefined && number > Number(element.max_value)) {
      return `Please enter a number of at most ${element.max_value}.`;
    }
  }
  if (element.type === "email_text_input" && !/^[^@\s]+@[^@\s]+$/.test(text)) return "Please enter an email address.";
  if (element.type === "url_text_input" && !/^https?:\/\/\S+$/.test(text)) return "Please enter a URL.";
  return null;
}

function currentChoice(ctx, place, element) {
  const stored = ctx.values?.[place.blockId];
  if (stored && element.action_id in stored) return stored[element.action_id];
  return initialChoice(element);
}

// The person changed an element: keep it in the view's values; tell the app when Slack would (an element
// outside input blocks always; inside one only with dispatch_action).
function choose(ctx, place, element, choice, { send = true } = {}) {
  if (ctx.values) (ctx.values[place.blockId] ??= {})[element.action_id] = choice;
  if (send && (!place.inInput || place.dispatch)) ctx.act(place, element, choice);
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

function allOptions(element) {
  const options = [...(element.options || [])];
  for (const group of element.option_groups || []) options.push(...(group.options || []));
  return options;
}

function optionLabel(option) {
  const text = plainText(option.text);
  return option.description ? `${text} — ${plainText(option.description)}` : text;
}

function renderStaticSelect(element, ctx, place, choice) {
  const select = document.createElement("select");
  select.className = "bk-select";
  if (place.id) select.id = place.id;
  const options = allOptions(element);
  const placeholder = document.createElement("option");
  placeholder.value = "";
  placeholder.textContent = plainText(element.placeholder) || "Select an item";
  placeholder.disabled = place.inInput && !isEmpty(choice);
  select.append(placeholder);
  const add = (into, option) => {
    const node = document.createElement("option");
    node.value = String(options.indexOf(option));
    node.textContent = optionLabel(option);
    node.selected = choice?.value === option.value;
    into.append(node);
  };
  for (const option of element.options || []) add(select, option);
  for (const group of element.option_groups || []) {
    const node = document.createElement("optgroup");
    node.label = plainText(group.label);
    for (const option of group.options || []) add(node, option);
    select.append(node);
  }
  if (isEmpty(choice)) select.value = "";
  select.addEventListener("change", () => {
    choose(ctx, place, element, select.value === "" ? null : options[Number(select.value)]);
  });
  return select;
}

function renderMultiStaticSelect(element, ctx, place, choice) {
  const options = allOptions(element);
  return renderTokens(element, ctx, place, choice || [], {
    label: optionLabel,
    same: (a, b) => a.value === b.value,
    adder: (add) => {
      const select = document.createElement("select");
      select.className = "bk-select";
      if (place.id) select.id = place.id;
      const first = document.createElement("option");
      first.value = "";
      first.textContent = plainText(element.placeholder) || "Select items";
      select.append(first);
      options.forEach((option, i) => {
        const node = document.createElement("option");
        node.value = String(i);
        node.textContent = optionLabel(option);
        select.append(node);
      });
      select.addEventListener("change", () => {
        if (select.value !== "") add(options[Number(select.value)]);
        select.value = "";
      });
      return select;
    },
  });
}

// A select whose options come from the app as the person types (block_suggestion).
function renderExternalSelect(element, ctx, place, choice) {
  return renderCombobox(element, ctx, place, {
    shown: choice ? plainText(choice.text) : "",
    pick: (option, box) => {
      box.input.value = plainText(option.text);
      box.chosen = option;
      choose(ctx, place, element, option);
    },
    restore: (box) => {
      box.input.value = box.chosen ? plainText(box.chosen.text) : "";
    },
    initial: choice,
  }).node;
}

function renderMultiExternalSelect(element, ctx, place, choice) {
  return renderTokens(element, ctx, place, choice || [], {
    label: (option) => plainText(option.text),
    same: (a, b) => a.value === b.value,
    adder: (add) => renderCombobox(element, ctx, { ...place }, {
      shown: "",
      pick: (option, box) => {
        box.input.value = "";
        add(option);
      },
      restore: (box) => {
        box.input.value = "";
      },
      initial: null,
    }).node,
  });
}

function renderCombobox(element, ctx, place, behaviour) {
  const node = document.createElement("div");
  node.className = "bk-combobox";
  const input = document.createElement("input");
  input.type = "text";
  input.className = "bk-combobox-input";
  input.autocomplete = "off";
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  if (place.id) input.id = place.id;
  input.placeholder = plainText(element.placeholder) || "Select an item";
  input.value = behaviour.shown;
  const menu = document.createElement("ul");
  menu.className = "bk-menu bk-options";
  menu.setAttribute("role", "listbox");
  menu.hidden = true;
  node.append(input, menu);
  const box = { input, menu, chosen: behaviour.initial, asked: 0, active: -1 };
  const minimum = element.min_query_length ?? 3;  // Slack's default: ask from the third character typed
  let timer = null;

  const show = (answer) => {
    menu.replaceChildren();
    box.active = -1;
    const groups = answer.option_groups ?? [{ label: null, options: answer.options || [] }];
    let count = 0;
    for (const group of groups) {
      if (group.label) {
        const heading = document.createElement("li");
        heading.className = "bk-option-group";
        heading.setAttribute("role", "presentation");
        heading.textContent = plainText(group.label);
        menu.append(heading);
      }
      for (const option of group.options || []) {
        const item = document.createElement("li");
        item.className = "bk-option";
        item.setAttribute("role", "option");
        item.dataset.value = option.value ?? "";
        item.append(renderText(option.text));
        if (option.description) {
          const description = document.createElement("div");
          description.className = "bk-option-description";
          description.append(renderText(option.description));
          item.append(description);
        }
        item.addEventListener("mousedown", (event) => {
          event.preventDefault();  // keep the focus in the input until the pick is made
          close();
          behaviour.pick(option, box);
        });
        menu.append(item);
        count += 1;
      }
    }
    if (count === 0) {
      const none = document.createElement("li");
      none.className = "bk-option-none";
      none.textContent = "No results";
      menu.append(none);
    }
    menu.hidden = false;
    input.setAttribute("aria-expanded", "true");
  };
  const close = () => {
    menu.hidden = true;
    input.setAttribute("aria-expanded", "false");
  };
  const ask = async () => {
    const typed = input.value;
    if (typed.length < minimum) {
      close();
      return;
    }
    const asked = ++box.asked;
    node.classList.add("bk-loading");
    const answer = await ctx.suggest(place, element, typed);
    if (asked !== box.asked) return;  // a later keystroke asked again
    node.classList.remove("bk-loading");
    if (answer && document.activeElement === input) show(answer);
  };
  input.addEventListener("focus", () => {
    input.select();
    ask();
  });
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(ask, 150);
  });
  input.addEventListener("blur", () => {
    clearTimeout(timer);
    close();
    behaviour.restore(box);
  });
  input.addEventListener("keydown", (event) => {
    const items = [...menu.querySelectorAll(".bk-option")];
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!items.length) return;
      box.active = (box.active + (event.key === "ArrowDown" ? 1 : -1) + items.length) % items.length;
      items.forEach((item, i) => item.classList.toggle("bk-active", i === box.active));
    } else if (event.key === "Enter" && box.active >= 0 && items[box.active]) {
      event.preventDefault();
      items[box.active].dispatchEvent(new MouseEvent("mousedown", { bubbles: true, cancelable: true }));
    } else if (event.key === "Escape" && !menu.hidden) {
      event.stopPropagation();
      close();
    }
  });
  return { node, box };
}

// Tokens for the chosen items of a multi select, with an adder (a select or a combobox) after them.
function renderTokens(element, ctx, place, chosen, { label, same, adder }) {
  const node = document.createElement("div");
  node.className = "bk-multi";
  const tokens = document.createElement("div");
  tokens.className = "bk-tokens";
  let current = [...chosen];
  const draw = () => {
    tokens.replaceChildren();
    for (const item of current) {
      const token = document.createElement("span");
      token.className = "bk-token";
      token.textContent = label(item);
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "bk-token-remove";
      remove.setAttribute("aria-label", `Remove ${label(item)}`);
      remove.textContent = "×";
      remove.addEventListener("click", () => {
        current = current.filter((other) => !same(other, item));
        draw();
        choose(ctx, place, element, current);
      });
      token.append(remove);
      tokens.append(token);
    }
  };
  draw();
  const add = (item) => {
    if (current.some((other) => same(other, item))) return;
    if (element.max_selected_items && current.length >= element.max_selected_items) return;
    current = [...current, item];
    draw();
    choose(ctx, place, element, current);
  };
  node.append(tokens, adder(add));
  return node;
}

function peopleOptions(ctx) {
  return (ctx.people || []).map((person) => ({ value: person.id, label: person.real_name }));
}

function conversationOptions(ctx, element) {
  const include = new Set(element.filter?.include ?? ["public", "private", "im", "mpim"]);
  const kinds = { channel: "public", private: "private", im: "im" };
  return (ctx.conversations || [])
    .filter((c) => include.has(kinds[c.kind]))
    .map((c) => ({ value: c.id, label: c.kind === "im" ? `@${c.label}` : `#${c.name}` }));
}

function channelOptions(ctx) {
  return (ctx.conversations || []).filter((c) => c.kind === "channel").map((c) => ({ value: c.id, label: `#${c.name}` }));
}

function renderIdSelect(element, ctx, place, choice, options) {
  const select = document.createElement("select");
  select.className = "bk-select";
  if (place.id) select.id = place.id;
  const placeholder = document.createElement("option");
  placeholder.value = "";
  placeholder.textContent = plainText(element.placeholder) || "Select an item";
  select.append(placeholder);
  for (const option of options) {
    const node = document.createElement("option");
    node.value = option.value;
    node.textContent = option.label;
    select.append(node);
  }
  select.value = choice && options.some((o) => o.value === choice) ? choice : "";
  select.addEventListener("change", () => choose(ctx, place, element, select.value || null));
  return select;
}

function renderIdMultiSelect(element, ctx, place, choice, options) {
  const labels = Object.fromEntries(options.map((o) => [o.value, o.label]));
  return renderTokens(element, ctx, place, choice || [], {
    label: (id) => labels[id] ?? id,
    same: (a, b) => a === b,
    adder: (add) => {
      const select = document.createElement("select");
      select.className = "bk-select";
      if (place.id) select.id = place.id;
      const first = document.createElement("option");
      first.value = "";
      first.textContent = plainText(element.placeholder) || "Add…";
      select.append(first);
      for (const option of options) {
        const node = document.createElement("option");
        node.value = option.value;
        node.textContent = option.label;
        select.append(node);
      }
      select.addEventListener("change", () => {
        if (select.value) add(select.value);
        select.value = "";
      });
      return select;
    },
  });
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
