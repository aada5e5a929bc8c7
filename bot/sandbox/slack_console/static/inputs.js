// What a person enters in a view, as Slack keeps it: the "choice" of each stateful element (see blockkit.js),
// seeded from the view, kept across views.update while a block stays, checked before a submission.

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

export function isEmpty(choice) {
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

export function currentChoice(ctx, place, element) {
  const stored = ctx.values?.[place.blockId];
  if (stored && element.action_id in stored) return stored[element.action_id];
  return initialChoice(element);
}

// The person changed an element: keep it in the view's values; tell the app when Slack would (an element
// outside input blocks always; inside one only with dispatch_action).
export function choose(ctx, place, element, choice, { send = true } = {}) {
  if (ctx.values) (ctx.values[place.blockId] ??= {})[element.action_id] = choice;
  if (send && (!place.inInput || place.dispatch)) ctx.act(place, element, choice);
}
