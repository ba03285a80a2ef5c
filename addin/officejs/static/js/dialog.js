// The add-in's dialog (commands.js ask()): the text and the buttons come in the URL; the button pressed goes back
// to the runtime with messageParent. Text only (textContent): nothing from the URL becomes markup.
const q = new URLSearchParams(location.search);
document.getElementById("message").textContent = q.get("m") || "";
const box = document.getElementById("buttons");
for (const part of (q.get("b") || "ok:OK").split("|")) {
  const [id, ...label] = part.split(":");
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label.join(":") || id;
  b.dataset.id = id;
  b.addEventListener("click", () => Office.context.ui.messageParent(id));
  box.append(b);
}
Office.onReady(() => { const first = box.querySelector("button"); if (first) first.focus(); });
