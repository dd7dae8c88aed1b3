// A test double for Jitsi's external_api.js, served by the e2e suite in place of the
// real script (see e2e/conftest.py): the browser never reaches a Jitsi server.
//
// It records what the page asked Jitsi for and lets a test play Jitsi's part:
//   window.__jitsiCalls      constructor calls: {domain, options (without parentNode), parentNodeId}
//   window.__jitsiCommands   executeCommand calls: {name, args}
//   window.__jitsiDisposed   how many times dispose() ran
//   window.__jitsiIframeAllow  the `allow` list the API gave its iframe
//   window.__jitsiEmit(name, data)   fire an event at every listener (videoConferenceJoined, readyToClose...)
// Unknown options (jwt, lang, devices...) are recorded as given, never rejected.
(function () {
  "use strict";

  // The real External API's permissions for its iframe: jitsi/jitsi-meet
  // modules/API/external/external_api.js, _createIFrame(), `this._frame.allow = [...].join('; ')`
  // (current master; older releases had 'camera; microphone; display-capture; autoplay;
  // clipboard-write'). e2e/test_video_room.py holds the same list and checks the page keeps it.
  var IFRAME_ALLOW = [
    "autoplay",
    "camera",
    "clipboard-write",
    "compute-pressure",
    "display-capture",
    "hid",
    "microphone",
    "screen-wake-lock",
    "speaker-selection",
  ].join("; ");

  window.__jitsiIframeAllow = IFRAME_ALLOW;
  window.__jitsiCalls = [];
  window.__jitsiCommands = [];
  window.__jitsiDisposed = 0;
  var instances = [];
  var nextId = 0;

  function plainCopy(options) {
    var copy = {};
    Object.keys(options || {}).forEach(function (key) {
      if (key !== "parentNode") {
        copy[key] = options[key];
      }
    });
    // Drop anything JSON cannot carry (DOM nodes, functions) so tests can read it back.
    return JSON.parse(JSON.stringify(copy));
  }

  function JitsiMeetExternalAPI(domain, options) {
    if (!(this instanceof JitsiMeetExternalAPI)) {
      throw new TypeError("JitsiMeetExternalAPI must be called with new");
    }
    options = options || {};
    var parentNode = options.parentNode || document.body;
    window.__jitsiCalls.push({
      domain: domain,
      options: plainCopy(options),
      parentNodeId: parentNode.id || null,
    });
    var frame = document.createElement("iframe");
    frame.name = frame.id = "jitsiConferenceFrame" + nextId++;
    frame.allow = IFRAME_ALLOW;
    frame.setAttribute("allowFullScreen", "true");
    frame.setAttribute("data-jitsi-double", "");
    frame.setAttribute("data-room-name", options.roomName || "");
    parentNode.appendChild(frame);
    this._frame = frame;
    this._listeners = {};
    instances.push(this);
  }

  JitsiMeetExternalAPI.prototype.getIFrame = function () {
    return this._frame;
  };

  JitsiMeetExternalAPI.prototype.addListener = function (name, listener) {
    (this._listeners[name] = this._listeners[name] || []).push(listener);
    return this;
  };
  JitsiMeetExternalAPI.prototype.on = JitsiMeetExternalAPI.prototype.addListener;
  JitsiMeetExternalAPI.prototype.addEventListener = JitsiMeetExternalAPI.prototype.addListener;

  JitsiMeetExternalAPI.prototype.removeListener = function (name, listener) {
    this._listeners[name] = (this._listeners[name] || []).filter(function (each) {
      return each !== listener;
    });
    return this;
  };
  JitsiMeetExternalAPI.prototype.off = JitsiMeetExternalAPI.prototype.removeListener;

  JitsiMeetExternalAPI.prototype.executeCommand = function (name) {
    window.__jitsiCommands.push({ name: name, args: Array.prototype.slice.call(arguments, 1) });
  };

  JitsiMeetExternalAPI.prototype.dispose = function () {
    window.__jitsiDisposed += 1;
    this._listeners = {};
    if (this._frame && this._frame.parentNode) {
      this._frame.parentNode.removeChild(this._frame);
    }
    instances = instances.filter(function (each) {
      return each !== this;
    }, this);
  };

  JitsiMeetExternalAPI.prototype._emit = function (name, data) {
    (this._listeners[name] || []).slice().forEach(function (listener) {
      listener(data);
    });
  };

  window.__jitsiEmit = function (name, data) {
    instances.slice().forEach(function (api) {
      api._emit(name, data || {});
    });
    return instances.length;
  };

  window.JitsiMeetExternalAPI = JitsiMeetExternalAPI;
})();
