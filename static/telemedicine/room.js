// The room page's bootstrap: the only script besides Jitsi's own external_api.js.
// Every option comes from the server (json_script #jitsi-options); nothing is decided here.
(function () {
  "use strict";

  var optionsElement = document.getElementById("jitsi-options");
  if (!optionsElement) {
    return;
  }
  var settings = JSON.parse(optionsElement.textContent);
  var container = document.getElementById("jitsi-container");
  var notice = document.getElementById("call-notice");
  var leaveUrl = document.getElementById("leave-call").getAttribute("href");

  function showNotice(text) {
    notice.textContent = text;
    notice.hidden = false;
  }

  if (typeof window.JitsiMeetExternalAPI !== "function") {
    // external_api.js did not load (network, blocker, Jitsi down): say so plainly.
    container.hidden = true;
    document.getElementById("jitsi-unavailable").hidden = false;
    return;
  }

  var options = Object.assign({}, settings.options, { parentNode: container, width: "100%", height: "100%" });
  var api = new window.JitsiMeetExternalAPI(settings.domain, options);
  var iframe = api.getIFrame && api.getIFrame();
  if (iframe) {
    iframe.setAttribute("allow", "camera; microphone; display-capture; autoplay; clipboard-write; fullscreen");
    iframe.setAttribute("title", "Video call");
  }
  window.clinicJitsi = api;

  function endCall(message) {
    try {
      api.executeCommand("hangup");
    } catch (error) {
      // The call may already be gone; ending it is what matters.
    }
    api.dispose();
    container.hidden = true;
    showNotice(message);
  }

  if (settings.plannedEndsInSeconds > 0 && settings.plannedEndsInSeconds < settings.endsInSeconds) {
    window.setTimeout(function () {
      showNotice("The planned time for this visit is up.");
    }, settings.plannedEndsInSeconds * 1000);
  }
  window.setTimeout(function () {
    endCall("The call has reached its maximum length and was ended. You can return to your appointment.");
  }, settings.endsInSeconds * 1000);

  api.addListener("readyToClose", function () {
    window.location.assign(leaveUrl);
  });
})();
