// A click on the text or link inside a dropdown's title (a folded solution)
// opens the dropdown. sphinx-togglebutton 0.4.5 handles only clicks on the
// title box itself or its button, and throws "button is not defined" for
// the rest; here such a click is passed on to the button instead.
document.addEventListener("click", (event) => {
  const title = event.target.closest(".dropdown > .admonition-title");
  if (!title || event.target === title || event.target.closest(".toggle-button")) {
    return;
  }
  const button = title.querySelector(".toggle-button");
  if (button) {
    event.preventDefault();
    event.stopPropagation();
    button.click();
  }
}, true);
