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
  // The External API gives its iframe the permissions Jitsi needs (its own `allow` list, kept
  // current by Jitsi): leave that alone and only name the frame for screen readers.
  var iframe = api.getIFrame && api.getIFrame();
  if (iframe) {
    iframe.setAttribute("title", "Video call");
  }
  window.clinicJitsi = api;

  // The audit trail: the page tells the server what Jitsi itself says happened (the
  // External API's conference events), so the record shows who was really in the call.
  // Reports are best effort: if the server cannot be reached the call goes on regardless.
  var callReports = (function () {
    var form = document.getElementById("call-events");
    var joined = false;
    var heartbeat = null;
    if (!form) {
      return { join: function () {}, leave: function () {}, stopHeartbeat: function () {} };
    }
    var url = form.getAttribute("action");
    var token = form.elements.csrfmiddlewaretoken.value;

    function body(event) {
      var data = new FormData(form); // carries csrfmiddlewaretoken
      data.append("event", event);
      return data;
    }

    function send(event) {
      try {
        window.fetch(url, {
          method: "POST",
          body: body(event),
          headers: { "X-CSRFToken": token },
          credentials: "same-origin",
        }).catch(function () {});
      } catch (error) {
        // No fetch, or it threw: the call matters more than its record.
      }
    }

    // A leave must survive the page going away: a beacon is sent even while the page unloads.
    function beacon(event) {
      try {
        if (navigator.sendBeacon && navigator.sendBeacon(url, body(event))) {
          return;
        }
        window.fetch(url, { method: "POST", body: body(event), credentials: "same-origin", keepalive: true })
          .catch(function () {});
      } catch (error) {
        // As above: never let reporting break the page.
      }
    }

    var seconds = parseInt(form.getAttribute("data-heartbeat-seconds"), 10);
    if (seconds > 0) {
      // A long call has no other requests: this keeps the session from timing out.
      heartbeat = window.setInterval(function () {
        send("heartbeat");
      }, seconds * 1000);
    }

    return {
      join: function () {
        joined = true;
        send("joined");
      },
      leave: function () {
        if (joined) {
          joined = false;
          beacon("left");
        }
      },
      stopHeartbeat: function () {
        if (heartbeat !== null) {
          window.clearInterval(heartbeat);
          heartbeat = null;
        }
      },
    };
  })();

  api.addListener("videoConferenceJoined", callReports.join);
  api.addListener("videoConferenceLeft", callReports.leave);
  api.addListener("readyToClose", callReports.leave);
  window.addEventListener("pagehide", callReports.leave);

  function endCall(message) {
    callReports.leave();
    callReports.stopHeartbeat();
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

  // Token modes: the doctor is moderator by token. Once Jitsi confirms the role, the lobby
  // goes on, so the patient waits until admitted (Jitsi handbook, IFrame commands: toggleLobby).
  if (settings.enableLobby) {
    api.addListener("participantRoleChanged", function (event) {
      if (event.role === "moderator") {
        api.executeCommand("toggleLobby", true);
      }
    });
  }

  // "End the visit for everyone", for the moderator only. endConference needs the server's
  // end-conference component; removing each other participant works wherever the doctor is
  // moderator, so the button does both.
  var endForAll = document.getElementById("end-for-all");
  if (settings.canEndForAll && endForAll) {
    var others = {};
    api.addListener("participantJoined", function (event) {
      others[event.id] = true;
    });
    api.addListener("participantLeft", function (event) {
      delete others[event.id];
    });
    endForAll.hidden = false;
    endForAll.addEventListener("click", function () {
      api.executeCommand("endConference");
      Object.keys(others).forEach(function (id) {
        api.executeCommand("kickParticipant", id);
      });
      endCall("You ended the visit for everyone. You can return to the appointment.");
    });
  }

  api.addListener("readyToClose", function () {
    window.location.assign(leaveUrl);
  });
})();
