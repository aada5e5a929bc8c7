// The selects: static and external (options from the app as the person types), their multi versions, and the
// user / conversation / channel selects, which list the workspace's people and conversations.

import { choose, isEmpty } from "./inputs.js";
import { plainText, renderText } from "./mrkdwn.js";

function allOptions(element) {
  const options = [...(element.options || [])];
  for (const group of element.option_groups || []) options.push(...(group.options || []));
  return options;
}

function optionLabel(option) {
  const text = plainText(option.text);
  return option.description ? `${text} — ${plainText(option.description)}` : text;
}

export function renderStaticSelect(element, ctx, place, choice) {
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

export function renderMultiStaticSelect(element, ctx, place, choice) {
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
export function renderExternalSelect(element, ctx, place, choice) {
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

export function renderMultiExternalSelect(element, ctx, place, choice) {
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

export function peopleOptions(ctx) {
  return (ctx.people || []).map((person) => ({ value: person.id, label: person.real_name }));
}

export function conversationOptions(ctx, element) {
  const include = new Set(element.filter?.include ?? ["public", "private", "im", "mpim"]);
  const kinds = { channel: "public", private: "private", im: "im" };
  return (ctx.conversations || [])
    .filter((c) => include.has(kinds[c.kind]))
    .map((c) => ({ value: c.id, label: c.kind === "im" ? `@${c.label}` : `#${c.name}` }));
}

export function channelOptions(ctx) {
  return (ctx.conversations || []).filter((c) => c.kind === "channel").map((c) => ({ value: c.id, label: `#${c.name}` }));
}

export function renderIdSelect(element, ctx, place, choice, options) {
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

export function renderIdMultiSelect(element, ctx, place, choice, options) {
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
