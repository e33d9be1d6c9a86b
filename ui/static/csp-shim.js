// Keeps the Remote Connection window inside the hub's strict Content-Security-Policy (no 'unsafe-inline').
// xterm.js's DOM renderer injects <style> elements and sets style="" attributes, which the policy blocks:
// every <style> created from script gets this response's nonce at creation (before insertion, which is
// when the browser checks it), and style attributes set from script go through the CSSOM instead,
// which the policy does not govern. Loaded first, before the libraries it serves.
(function () {
  "use strict";
  const meta = document.querySelector('meta[name="csp-nonce"]');
  const nonce = meta ? meta.content : "";
  const createElement = Document.prototype.createElement;
  Document.prototype.createElement = function (name, options) {
    const element = createElement.call(this, name, options);
    if (nonce && String(name).toLowerCase() === "style") element.setAttribute("nonce", nonce);
    return element;
  };
  const setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    if (String(name).toLowerCase() === "style" && this.style) { this.style.cssText = String(value); return; }
    setAttribute.call(this, name, value);
  };
})();
