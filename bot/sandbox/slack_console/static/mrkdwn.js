// Slack's text formatting ("mrkdwn") and text objects, rendered as DOM nodes.
//
// Everything the app sends is text: it is only ever put into the page with textContent / createTextNode,
// never as HTML, so a customer named "<script>" shows as written. What mrkdwn means
// (https://docs.slack.dev/messaging/formatting-message-text):
//   *bold*  _italic_  ~strike~  `code`  ```preformatted```  > quote (line start)
//   <https://url|text>  <@U…>  <#C…>  <!subteam^S…>  <!here>  <!date^…|fallback>  :emoji:
//   &amp; &lt; &gt; are the escapes of & < > (a bare < starts one of the <…> forms).

const EMOJI = {
  white_check_mark: "✅", x: "❌", warning: "⚠️", lock: "🔒", red_circle: "🔴", large_orange_circle: "🟠",
  large_green_circle: "🟢", large_yellow_circle: "🟡", hourglass_flowing_sand: "⏳", hourglass: "⌛",
  arrows_counterclockwise: "🔄", heavy_check_mark: "✔️", information_source: "ℹ️", bell: "🔔", chart_with_upwards_trend: "📈",
  moneybag: "💰", memo: "📝", calendar: "📆", link: "🔗", tada: "🎉", rotating_light: "🚨", eyes: "👀",
  heavy_plus_sign: "➕", heavy_minus_sign: "➖", no_entry: "⛔", pushpin: "📌", gear: "⚙️", house: "🏠",
  clipboard: "📋", mag: "🔍", bulb: "💡", thumbsup: "👍", "+1": "👍", wave: "👋", star: "⭐",
};

const INLINE = [
  { kind: "code", re: /`([^`\n]+)`/ },
  { kind: "angle", re: /<([^<>\n]+)>/ },
  { kind: "bold", re: /(^|[^\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])/ },
  { kind: "italic", re: /(^|[^\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])/ },
  { kind: "strike", re: /(^|[^\w~])~(?=\S)([^~\n]*?\S)~(?![\w~])/ },
];

export function decodeEntities(text) {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

function withEmoji(text, into) {
  const parts = text.split(/(:[a-z0-9_+-]+:)/);
  parts.forEach((part, i) => {
    if (i % 2 === 1 && EMOJI[part.slice(1, -1)]) {
      const span = document.createElement("span");
      span.className = "emoji";
      span.title = part;
      span.textContent = EMOJI[part.slice(1, -1)];
      into.append(span);
    } else if (part) {
      into.append(document.createTextNode(part));
    }
  });
}

function safeHref(url) {
  try {
    const parsed = new URL(url);
    return ["http:", "https:", "mailto:"].includes(parsed.protocol) ? parsed.href : null;
  } catch {
    return null;
  }
}

function mention(kind, label) {
  const span = document.createElement("span");
  span.className = `mention mention-${kind}`;
  span.textContent = label;
  return span;
}

function angle(inner, directory) {
  const [target, label] = splitOnce(inner, "|");
  const shown = label === undefined ? null : decodeEntities(label);
  if (target.startsWith("@")) {
    const id = target.slice(1);
    const user = directory.users?.[id];
    return mention("user", "@" + (user ? user.real_name : shown || id));
  }
  if (target.startsWith("#")) {
    const id = target.slice(1);
    const channel = directory.channels?.[id];
    return mention("channel", "#" + (channel ? channel.name : shown || id));
  }
  if (target.startsWith("!subteam^")) {
    const id = target.slice("!subteam^".length);
    const group = directory.usergroups?.[id];
    return mention("group", "@" + (group ? group.handle : (shown || id).replace(/^@/, "")));
  }
  if (target.startsWith("!date^")) {
    return document.createTextNode(shown || target);
  }
  if (target.startsWith("!")) {
    return mention("special", "@" + target.slice(1));
  }
  const href = safeHref(decodeEntities(target));
  if (!href) {
    return document.createTextNode(decodeEntities(`<${inner}>`));
  }
  const link = document.createElement("a");
  link.href = href;
  link.target = "_blank";
  link.rel = "noopener noreferrer";
  link.textContent = shown || decodeEntities(target);
  return link;
}

function splitOnce(text, separator) {
  const at = text.indexOf(separator);
  return at < 0 ? [text] : [text.slice(0, at), text.slice(at + 1)];
}

function inline(text, directory, into) {
  let rest = text;
  while (rest) {
    let best = null;
    for (const pattern of INLINE) {
      const match = pattern.re.exec(rest);
      if (match && (best === null || match.index + lead(pattern, match) < best.start)) {
        best = { pattern, match, start: match.index + lead(pattern, match) };
      }
    }
    if (best === null) {
      withEmoji(decodeEntities(rest), into);
      return;
    }
    const { pattern, match, start } = best;
    if (start > 0) withEmoji(decodeEntities(rest.slice(0, start)), into);
    if (pattern.kind === "code") {
      const code = document.createElement("code");
      code.textContent = decodeEntities(match[1]);
      into.append(code);
    } else if (pattern.kind === "angle") {
      into.append(angle(match[1], directory));
    } else {
      const tag = { bold: "strong", italic: "em", strike: "s" }[pattern.kind];
      const node = document.createElement(tag);
      inline(match[2], directory, node);
      into.append(node);
    }
    rest = rest.slice(match.index + match[0].length);
  }
}

function lead(pattern, match) {
  // bold, italic and strike patterns also match the character before the marker
  return pattern.kind === "bold" || pattern.kind === "italic" || pattern.kind === "strike" ? match[1].length : 0;
}

// A mrkdwn string as a fragment of paragraphs, quotes and preformatted blocks.
export function renderMrkdwn(text, directory = {}) {
  const fragment = document.createDocumentFragment();
  const pieces = String(text ?? "").split("```");
  pieces.forEach((piece, i) => {
    if (i % 2 === 1) {
      const pre = document.createElement("pre");
      pre.textContent = decodeEntities(piece.replace(/^\n/, ""));
      fragment.append(pre);
      return;
    }
    let quote = null;
    const lines = piece.split("\n");
    lines.forEach((line, index) => {
      const quoted = /^(&gt;|>)\s?/.exec(line);
      if (quoted) {
        if (!quote) {
          quote = document.createElement("blockquote");
          fragment.append(quote);
        } else {
          quote.append(document.createElement("br"));
        }
        inline(line.slice(quoted[0].length), directory, quote);
        return;
      }
      quote = null;
      inline(line, directory, fragment);
      if (index < lines.length - 1) fragment.append(document.createElement("br"));
    });
  });
  return fragment;
}

// A text object ({type: "plain_text" | "mrkdwn", text}) as a fragment.
export function renderText(object, directory = {}) {
  if (object === null || object === undefined) return document.createDocumentFragment();
  if (typeof object === "string") return renderMrkdwn(object, directory);
  if (object.type === "mrkdwn") return renderMrkdwn(object.text, directory);  // verbatim only stops auto-linking
  const fragment = document.createDocumentFragment();
  if (object.emoji === false) {
    fragment.append(document.createTextNode(object.text ?? ""));
  } else {
    const lines = String(object.text ?? "").split("\n");
    lines.forEach((line, i) => {
      withEmoji(line, fragment);
      if (i < lines.length - 1) fragment.append(document.createElement("br"));
    });
  }
  return fragment;
}

// The plain words of a text object (for option labels in native selects, titles, ...).
export function plainText(object) {
  if (object === null || object === undefined) return "";
  const text = typeof object === "string" ? object : object.text ?? "";
  return object.type === "mrkdwn" ? decodeEntities(text) : text;
}
