// Passkeys in the pages (contract §11): "Log in with a passkey" on the
// login page (and the browser's passkey autofill on its email field),
// "Add a passkey" on the passkeys page, "Confirm with a passkey" on the
// re-authentication page. Each calls the JSON routes: begin, then the
// browser's navigator.credentials, then finish. A file, not inline
// script: the pages' Content-Security-Policy allows none. Without it, or
// in a browser without WebAuthn, the pages say so and the password still
// works. Framework-free on purpose.
(function () {
  "use strict";
  var status = document.getElementById("passkey-status");
  var supported = !!(window.PublicKeyCredential && navigator.credentials && navigator.credentials.create);

  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }

  function fromB64(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) {
      s += "=";
    }
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      out[i] = bin.charCodeAt(i);
    }
    return out.buffer;
  }

  function toB64(buf) {
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) {
      bin += String.fromCharCode(bytes[i]);
    }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (d) {
      return { type: d.type, id: fromB64(d.id), transports: d.transports };
    });
  }

  // The options arrive as WebAuthn Level 3 JSON; browsers that cannot
  // read it themselves get the binary fields decoded here.
  function creationOptions(json) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    var o = Object.assign({}, json);
    o.challenge = fromB64(json.challenge);
    o.user = Object.assign({}, json.user, { id: fromB64(json.user.id) });
    o.excludeCredentials = descriptors(json.excludeCredentials);
    return o;
  }

  function requestOptions(json) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    var o = Object.assign({}, json);
    o.challenge = fromB64(json.challenge);
    o.allowCredentials = descriptors(json.allowCredentials);
    return o;
  }

  function credentialJSON(cred) {
    if (typeof cred.toJSON === "function") {
      return cred.toJSON();
    }
    var r = cred.response;
    var out = {
      id: cred.id,
      rawId: toB64(cred.rawId),
      type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: toB64(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toB64(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = toB64(r.authenticatorData);
      out.response.signature = toB64(r.signature);
      if (r.userHandle) {
        out.response.userHandle = toB64(r.userHandle);
      }
    }
    return out;
  }

  function post(path, body) {
    return fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body || {})
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) {
        return { ok: resp.ok, status: resp.status, data: data };
      });
    });
  }

  // problem words a refused answer for the status line.
  function problem(answer) {
    var d = answer.data || {};
    if (d.fields && d.fields.name) {
      return d.fields.name;
    }
    return d.detail || "Something went wrong; try again.";
  }

  // browserRefusal words what navigator.credentials threw.
  function browserRefusal(err, what) {
    if (err && err.name === "AbortError") {
      return "";
    }
    if (err && err.name === "InvalidStateError") {
      return "This device has a passkey for your account already.";
    }
    if (err && err.name === "NotAllowedError") {
      return what + " was cancelled, or timed out.";
    }
    return what + " did not work in this browser.";
  }

  function goTo(next, fallback) {
    window.location.assign(next && next.charAt(0) === "/" && next.charAt(1) !== "/" ? next : fallback);
  }

  // Login page.
  var loginButton = document.getElementById("passkey-login");
  if (loginButton) {
    var next = document.getElementById("passkey-login-box").getAttribute("data-next");
    var conditional = null; // the autofill's pending request, while there is one
    var pressed = false;    // the button was pressed: the autofill stands down
    var logIn = function (mediation) {
      var begun;
      return post("/api/passkeys/login/begin").then(function (begin) {
        if (!begin.ok) {
          throw { answer: begin };
        }
        begun = begin.data;
        var opts = { publicKey: requestOptions(begun.publicKey) };
        if (mediation) {
          if (pressed) {
            throw { quiet: true }; // one request at a time: the button's
          }
          conditional = new AbortController();
          opts.mediation = "conditional";
          opts.signal = conditional.signal;
        }
        return navigator.credentials.get(opts);
      }).then(function (cred) {
        say("Checking your passkey…");
        return post("/api/passkeys/login/finish", { flow: begun.flow, credential: credentialJSON(cred) });
      }).then(function (finish) {
        if (!finish.ok) {
          throw { answer: finish };
        }
        say("Logged in.");
        goTo(next, "/auth/home");
      }).catch(function (err) {
        if (err && err.quiet) {
          return;
        }
        var words = err && err.answer ? problem(err.answer) : browserRefusal(err, "Logging in with a passkey");
        if (words && !(mediation && pressed)) {
          say(words);
        }
      });
    };
    if (!supported) {
      say("This browser cannot use passkeys: log in with your password.");
    } else {
      loginButton.hidden = false;
      loginButton.addEventListener("click", function () {
        pressed = true;
        if (conditional) {
          conditional.abort(); // one request at a time: the button's replaces the autofill's
          conditional = null;
        }
        say("Waiting for your passkey…");
        logIn(false).then(function () { pressed = false; });
      });
      if (PublicKeyCredential.isConditionalMediationAvailable) {
        PublicKeyCredential.isConditionalMediationAvailable().then(function (yes) {
          if (yes && !pressed) {
            logIn(true);
          }
        });
      }
    }
  }

  // Passkeys page.
  var addForm = document.getElementById("passkey-add");
  if (addForm) {
    if (!supported) {
      say("This browser cannot make passkeys. Try another browser, or a phone.");
    } else {
      addForm.hidden = false;
      addForm.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var name = document.getElementById("passkey-name").value;
        say("Follow your browser's steps to make the passkey…");
        post("/api/me/passkeys/register/begin").then(function (begin) {
          if (begin.status === 401 && begin.data.error === "reauth_required") {
            window.location.assign("/auth/reauth?next=" + encodeURIComponent("/admin/me/passkeys"));
            throw { quiet: true };
          }
          if (!begin.ok) {
            throw { answer: begin };
          }
          return navigator.credentials.create({ publicKey: creationOptions(begin.data.publicKey) });
        }).then(function (cred) {
          return post("/api/me/passkeys/register/finish", { name: name, credential: credentialJSON(cred) });
        }).then(function (finish) {
          if (!finish.ok) {
            throw { answer: finish };
          }
          window.location.assign("/admin/me/passkeys?flash=passkey_added");
        }).catch(function (err) {
          if (err && err.quiet) {
            return;
          }
          var words = err && err.answer ? problem(err.answer) : browserRefusal(err, "Adding a passkey");
          if (words) {
            say(words);
          }
        });
      });
    }
  }

  // Re-authentication page.
  var reauthButton = document.getElementById("passkey-reauth");
  if (reauthButton) {
    var after = document.getElementById("passkey-reauth-box").getAttribute("data-next");
    if (!supported) {
      say("This browser cannot use passkeys.");
    } else {
      reauthButton.hidden = false;
      reauthButton.addEventListener("click", function () {
        var begun;
        say("Waiting for your passkey…");
        post("/api/me/reauth/passkey/begin").then(function (begin) {
          if (!begin.ok) {
            throw { answer: begin };
          }
          begun = begin.data;
          return navigator.credentials.get({ publicKey: requestOptions(begun.publicKey) });
        }).then(function (cred) {
          return post("/api/me/reauth/passkey/finish", { flow: begun.flow, credential: credentialJSON(cred) });
        }).then(function (finish) {
          if (!finish.ok) {
            throw { answer: finish };
          }
          goTo(after, "/admin/me");
        }).catch(function (err) {
          var words = err && err.answer ? problem(err.answer) : browserRefusal(err, "Confirming with a passkey");
          if (words) {
            say(words);
          }
        });
      });
    }
  }
})();
