// The device check page's script (templates/telemedicine/device_check.html): the browser's own
// media APIs show the camera, measure the microphone and play a tone. No Jitsi, nothing sent.
(function () {
  "use strict";

  var start = document.getElementById("start-test");
  if (!start) {
    return;
  }
  var video = document.getElementById("camera-preview");
  var meter = document.getElementById("mic-level");
  var status = document.getElementById("device-status");
  var play = document.getElementById("play-sound");
  var soundStatus = document.getElementById("sound-status");
  var PROBLEMS = ["permission-denied", "no-device", "device-busy", "not-supported"];
  var stream = null;
  var meterContext = null;
  var meterFrame = null;

  function say(text) {
    status.textContent = text;
  }

  function showProblem(id) {
    PROBLEMS.forEach(function (each) {
      document.getElementById(each).hidden = each !== id;
    });
    document.body.setAttribute("data-device-check", id || "running");
  }

  // getUserMedia's error names (Media Capture and Streams): which help to show.
  function problemFor(error) {
    var name = error && error.name;
    if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") {
      return "permission-denied";
    }
    if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") {
      return "no-device";
    }
    return "device-busy";
  }

  function stopAll() {
    if (meterFrame !== null) {
      window.cancelAnimationFrame(meterFrame);
      meterFrame = null;
    }
    if (meterContext) {
      meterContext.close();
      meterContext = null;
    }
    if (stream) {
      stream.getTracks().forEach(function (track) {
        track.stop();
      });
      stream = null;
    }
  }

  // Ask for both; if one of the two is missing, go on with the other and say which is missing.
  function requestDevices() {
    var media = navigator.mediaDevices;
    return media.getUserMedia({ video: true, audio: true }).catch(function (error) {
      if (problemFor(error) !== "no-device") {
        throw error;
      }
      return media.getUserMedia({ audio: true }).then(
        function (found) {
          found.missing = "camera";
          return found;
        },
        function () {
          return media.getUserMedia({ video: true }).then(
            function (found) {
              found.missing = "microphone";
              return found;
            },
            function () {
              throw error;
            }
          );
        }
      );
    });
  }

  // The level of the microphone, from its waveform (root mean square), 0 to 100, on every frame.
  function measure(audioStream) {
    var AudioContext = window.AudioContext || window.webkitAudioContext;
    if (!AudioContext || audioStream.getAudioTracks().length === 0) {
      return;
    }
    meterContext = new AudioContext();
    var analyser = meterContext.createAnalyser();
    analyser.fftSize = 1024;
    meterContext.createMediaStreamSource(audioStream).connect(analyser);
    var samples = new Uint8Array(analyser.fftSize);
    function tick() {
      analyser.getByteTimeDomainData(samples);
      var sum = 0;
      for (var i = 0; i < samples.length; i += 1) {
        var value = (samples[i] - 128) / 128;
        sum += value * value;
      }
      // Speech is about 0.02 to 0.3 RMS: scaled so that ordinary speech fills most of the bar.
      var level = Math.min(100, Math.round(Math.sqrt(sum / samples.length) * 400));
      meter.value = level;
      meter.textContent = level + " %";
      meterFrame = window.requestAnimationFrame(tick);
    }
    tick();
  }

  start.addEventListener("click", function () {
    stopAll();
    if (!navigator.mediaDevices || typeof navigator.mediaDevices.getUserMedia !== "function") {
      showProblem("not-supported");
      say("This browser cannot use the camera and microphone here. See below.");
      return;
    }
    showProblem(null);
    say("Asking your browser for the camera and microphone…");
    requestDevices().then(
      function (found) {
        stream = found;
        video.srcObject = found;
        video.hidden = found.getVideoTracks().length === 0;
        var playing = video.play();
        if (playing && playing.catch) {
          playing.catch(function () {});
        }
        measure(found);
        if (found.missing) {
          showProblem("no-device");
          say("No " + found.missing + " was found. See below what to do.");
        } else {
          say("Your camera and microphone work: you should see yourself, and the bar moves when you speak.");
        }
        start.textContent = "Start the test again";
      },
      function (error) {
        var problem = problemFor(error);
        showProblem(problem);
        say(
          problem === "permission-denied"
            ? "Your browser is not allowed to use the camera or microphone. See below how to allow them."
            : problem === "no-device"
              ? "No camera or microphone was found. See below what to do."
              : "The camera or microphone could not be started. See below what to do."
        );
      }
    );
  });

  var tonePlaying = false;
  play.addEventListener("click", function () {
    // Not disabled while it plays: that would take the keyboard's focus away from the button.
    if (tonePlaying) {
      return;
    }
    var AudioContext = window.AudioContext || window.webkitAudioContext;
    if (!AudioContext) {
      soundStatus.textContent = "This browser cannot play the test sound.";
      return;
    }
    var context = new AudioContext();
    var tone = context.createOscillator();
    var volume = context.createGain();
    tone.frequency.value = 440;
    // Fade in and out: a click-free, gentle tone of a second and a half.
    volume.gain.setValueAtTime(0, context.currentTime);
    volume.gain.linearRampToValueAtTime(0.2, context.currentTime + 0.1);
    volume.gain.linearRampToValueAtTime(0, context.currentTime + 1.5);
    tone.connect(volume);
    volume.connect(context.destination);
    tonePlaying = true;
    soundStatus.textContent = "Playing a tone…";
    tone.onended = function () {
      context.close();
      tonePlaying = false;
      soundStatus.textContent =
        "Did you hear a tone? If not, turn the volume up or choose another speaker or headphones, then play it again.";
    };
    tone.start();
    tone.stop(context.currentTime + 1.5);
  });

  window.addEventListener("pagehide", stopAll);
})();
