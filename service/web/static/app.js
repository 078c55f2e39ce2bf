// memberflow pages work without this script; it only helps: an upload is checked for its
// size and type before it is sent (the server checks again), a phone's photo is scaled down
// before it is sent (a photo field's data-shrink), and a chosen image is previewed. A select
// never sends its form by itself (WCAG 3.2.2): its form has a button to press.

// run `fn` once the page is read (at once when it already is)
function whenRead(fn) {
  "use strict";
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fn);
  } else {
    fn();
  }
}

// a live note under a field (`input`), id `<field>-<suffix>`, after the server's own -error
// note when there is one: `message` shows it (role alert, aria-invalid, aria-describedby),
// none takes it away (aria-invalid stays while the server's error is on the page)
function noteAtField(input, suffix, className, message) {
  "use strict";
  var id = input.id + "-" + suffix;
  var note = document.getElementById(id);
  var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(function (d) {
    return d && d !== id;
  });
  if (!message) {
    if (note) { note.remove(); }
    if (!document.getElementById(input.id + "-error")) { input.removeAttribute("aria-invalid"); }
  } else {
    if (!note) {
      note = document.createElement("p");
      note.className = "error " + className;
      note.id = id;
      note.setAttribute("role", "alert");
      var after = document.getElementById(input.id + "-error") || input;
      after.insertAdjacentElement("afterend", note);
    }
    if (note.textContent !== message) { note.textContent = message; }
    input.setAttribute("aria-invalid", "true");
    described.push(id);
  }
  if (described.length) {
    input.setAttribute("aria-describedby", described.join(" "));
  } else {
    input.removeAttribute("aria-describedby");
  }
}
(function () {
  "use strict";

  function accepts(input, file) {
    var accept = (input.getAttribute("accept") || "").split(",").map(function (s) {
      return s.trim();
    }).filter(Boolean);
    if (!accepts.length && !accept.length) { return true; }
    return accept.some(function (type) {
      if (type.slice(-2) === "/*") { return file.type.indexOf(type.slice(0, -1)) === 0; }
      return file.type === type;
    });
  }

  // what phones save photos as by default (by its type, or its name where the type is blank)
  var HEIC = /(^image\/(heic|heif|avif)|\.(heic|heif|avif))$/i;

  function messageFor(input) {
    var id = input.id + "-check";
    var box = document.getElementById(id);
    if (!box) {
      box = document.createElement("p");
      box.id = id;
      box.className = "error";
      box.setAttribute("role", "alert");
      input.insertAdjacentElement("afterend", box);
      var described = input.getAttribute("aria-describedby");
      input.setAttribute("aria-describedby", (described ? described + " " : "") + id);
    }
    return box;
  }

  // A photo (4-5 MB from a phone's camera, minutes on 3G) is scaled down before it is sent:
  // its longest side to the field's data-shrink pixels, as a JPEG at 0.85, drawn upright (the
  // browser turns an image by its EXIF orientation; where it does not say it does, the photo
  // goes as it is, and the server turns it). A picture already that small goes unchanged, as
  // does one the browser cannot draw (the server's checks decide). Without this script, or
  // without canvas or DataTransfer, the original is sent and the server takes it (≤ its limit).
  var QUALITY = 0.85;

  function canShrink(input, file) {
    return input.hasAttribute("data-shrink") && /^image\/(jpeg|png)$/.test(file.type) &&
      window.URL && window.DataTransfer && window.File && window.HTMLCanvasElement &&
      HTMLCanvasElement.prototype.toBlob && window.CSS && CSS.supports &&
      CSS.supports("image-orientation", "from-image");
  }

  // calls done(a smaller File) or done(null) when the photo is best sent as it is
  function shrink(file, longest, done) {
    var url = URL.createObjectURL(file);
    var picture = new Image();
    picture.onload = function () {
      var width = picture.naturalWidth, height = picture.naturalHeight;  // upright
      var scale = longest / Math.max(width, height);
      if (!(scale < 1)) { URL.revokeObjectURL(url); done(null); return; }
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(width * scale));
      canvas.height = Math.max(1, Math.round(height * scale));
      var pen = canvas.getContext("2d");
      pen.fillStyle = "#fff";  // a transparent PNG's background: white, as the server shows it
      pen.fillRect(0, 0, canvas.width, canvas.height);
      pen.imageSmoothingEnabled = true;
      pen.imageSmoothingQuality = "high";
      pen.drawImage(picture, 0, 0, canvas.width, canvas.height);
      URL.revokeObjectURL(url);
      canvas.toBlob(function (blob) {
        if (!blob || blob.size >= file.size) { done(null); return; }
        var name = file.name.replace(/\.[^.]*$/, "") + ".jpg";
        try {
          done(new File([blob], name, { type: "image/jpeg", lastModified: file.lastModified }));
        } catch (e) { done(null); }
      }, "image/jpeg", QUALITY);
    };
    picture.onerror = function () { URL.revokeObjectURL(url); done(null); };
    picture.src = url;
  }

  // a form sent while a photo is being scaled down waits for it, then goes by itself
  function sendWhenReady(form) {
    if (!form || form.getAttribute("data-send-when-ready") !== "1") { return; }
    if (form.querySelector("input[data-shrinking]")) { return; }
    form.removeAttribute("data-send-when-ready");
    var submitter = form.heldSubmitter;  // the button pressed (留存 is not 提交)
    form.heldSubmitter = null;
    if (form.querySelector("input[type=file][aria-invalid=true]")) { return; }
    if (form.requestSubmit) {
      form.requestSubmit(submitter && submitter.form === form ? submitter : undefined);
    } else { form.submit(); }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form && form.querySelector && form.querySelector("input[data-shrinking]")) {
      event.preventDefault();
      event.stopImmediatePropagation();
      form.setAttribute("data-send-when-ready", "1");
      form.heldSubmitter = event.submitter || null;
    }
  }, true);

  function check(input) {
    var box = messageFor(input);
    var preview = document.getElementById(input.id + "-preview");
    box.textContent = "";
    box.className = "error";
    input.removeAttribute("aria-invalid");
    if (preview) { preview.hidden = true; }
    var file = input.files && input.files[0];
    var turn = (input.shrinkTurn || 0) + 1;
    input.shrinkTurn = turn;  // a photo picked again while the last one shrinks wins
    input.removeAttribute("data-shrinking");
    input.removeAttribute("data-original-bytes");
    if (!file) { return; }
    var allowed = input.getAttribute("data-types") || "";
    var typeOk = allowed ? allowed.split(",").indexOf(file.type) >= 0 : accepts(input, file);
    var problem = "";
    var photoField = !allowed || allowed.indexOf("image/jpeg") >= 0;
    if (!typeOk && photoField && (HEIC.test(file.type) || HEIC.test(file.name))) {
      problem = "“" + file.name + "”是手机的 HEIC/HEIF 格式照片，本平台只收 JPG 或 PNG 图片：" +
        "请在手机“设置 → 相机 → 格式”中选择“兼容性最佳”后重新拍摄，或将照片截屏、转存为 JPG 后上传";
    } else if (!typeOk) {
      problem = "“" + file.name + "”不是允许的格式：" + (input.getAttribute("data-type-names") || "JPG、PNG 或 PDF");
    }
    if (problem) { return refuse(input, box, problem); }
    if (!canShrink(input, file)) { return accept(input, box, preview, file); }
    input.setAttribute("data-shrinking", "1");
    box.className = "hint";
    box.textContent = "正在压缩照片…";
    shrink(file, parseInt(input.getAttribute("data-shrink"), 10), function (smaller) {
      if (input.shrinkTurn !== turn) { return; }
      input.removeAttribute("data-shrinking");
      box.textContent = "";
      box.className = "error";
      if (smaller) {
        var list = new DataTransfer();
        list.items.add(smaller);
        input.files = list.files;  // what the form sends (no change event: not checked again)
        input.setAttribute("data-original-bytes", String(file.size));
      }
      accept(input, box, preview, smaller || file);
      sendWhenReady(input.form);
    });
  }

  function refuse(input, box, problem) {
    box.className = "error";
    box.textContent = problem;
    input.setAttribute("aria-invalid", "true");
    input.value = "";
  }

  // the size check (after scaling down: a 12 MB photo may fit once smaller), then the preview
  function accept(input, box, preview, file) {
    var max = parseInt(input.getAttribute("data-max-bytes") || "0", 10);
    if (max && file.size > max) {
      return refuse(input, box, "“" + file.name + "”有 " + (file.size / 1048576).toFixed(1) +
        "MB，超过了 " + Math.round(max / 1048576) + "MB 的上限，请压缩或重新拍摄");
    }
    if (preview && file.type.indexOf("image/") === 0 && window.URL) {
      preview.src = URL.createObjectURL(file);
      preview.hidden = false;
    }
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target && target.matches && target.matches("input[type=file][data-max-bytes]")) {
      check(target);
    }
  });

  // A form whose chosen files together pass what the server takes in one request (many
  // persons' photos) is not sent: the server would refuse it whole, and what was typed on
  // the page would be lost with it. Said above the form, with the sizes.
  var FIELDS_BYTES = 256 * 1024;  // the room the server leaves for the form's other fields

  function chosenBytes(form) {
    var total = 0;
    Array.prototype.forEach.call(form.querySelectorAll("input[type=file]"), function (input) {
      Array.prototype.forEach.call(input.files || [], function (file) { total += file.size; });
    });
    return total;
  }

  function size(bytes) {
    return bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + "MB" : Math.ceil(bytes / 1024) + "KB";
  }

  function tooLarge(form) {
    var meta = document.querySelector("meta[name=form-max-bytes]");
    var limit = meta ? parseInt(meta.getAttribute("content") || "0", 10) : 0;
    var total = limit ? chosenBytes(form) : 0;
    if (!limit || total <= limit - FIELDS_BYTES) { return false; }
    var box = form.querySelector(".errorbox.too-large");
    if (!box) {
      box = document.createElement("div");
      box.className = "errorbox too-large";
      box.setAttribute("role", "alert");
      box.setAttribute("tabindex", "-1");
      form.insertBefore(box, form.firstChild);
    }
    box.textContent = "本次选择的文件合计约 " + size(total) + "，超过了一次提交的上限 " +
      size(limit - FIELDS_BYTES) + "，表单未提交，已填写的内容仍在本页。" +
      "请换用较小的照片或较短的视频（如手机拍摄时选择较低的分辨率），或减少本次的人员后分次提交。";
    box.focus();
    return true;
  }

  // one submit per click: a second tap while the first is being sent does nothing
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.getAttribute("data-submitting") === "1") { event.preventDefault(); return; }
    if (tooLarge(form)) { event.preventDefault(); return; }
    form.setAttribute("data-submitting", "1");
    window.setTimeout(function () { form.removeAttribute("data-submitting"); }, 8000);
  });
})();

// a background job's page: the progress bar is fetched alone every second and swapped in
// until the job ends (without this script the page reloads itself: <noscript> meta refresh)
(function () {
  "use strict";
  var DELAY = 1000;

  function follow(box) {
    if (!box || box.getAttribute("data-finished") === "1" || !window.fetch) { return; }
    window.setTimeout(function () {
      fetch(box.getAttribute("data-job-progress"), { credentials: "same-origin" })
        .then(function (reply) { return reply.ok ? reply.text() : Promise.reject(reply.status); })
        .then(function (html) {
          var holder = document.createElement("div");
          holder.innerHTML = html.trim();
          var fresh = holder.firstElementChild;
          if (!fresh) { return follow(box); }
          box.replaceWith(fresh);
          follow(fresh);
        })
        .catch(function () { window.setTimeout(function () { follow(box); }, DELAY * 4); });
    }, DELAY);
  }

  whenRead(function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-job-progress]"), follow);
  });
})();

// a form with data-confirm asks first (删除 a draft); without script it submits at once
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});

// a column of numbers has its heading over them: a header cell takes the class `num` when
// every cell of its column in the body does (the cells are right-aligned by that class);
// only for tables whose header and rows have one cell per column (no colspan)
(function () {
  "use strict";

  function align(table) {
    var head = table.tHead && table.tHead.rows[0];
    var rows = table.tBodies.length ? table.tBodies[0].rows : [];
    if (!head || !rows.length) { return; }
    var headers = head.cells;
    var numeric = [];
    for (var i = 0; i < headers.length; i++) {
      if (headers[i].colSpan !== 1) { return; }
      numeric.push(true);
    }
    for (var r = 0; r < rows.length; r++) {
      var cells = rows[r].cells;
      if (cells.length !== headers.length) { return; }
      for (var c = 0; c < cells.length; c++) {
        if (!cells[c].classList.contains("num")) { numeric[c] = false; }
      }
    }
    numeric.forEach(function (yes, c) { if (yes) { headers[c].classList.add("num"); } });
  }

  whenRead(function () {
    Array.prototype.forEach.call(document.querySelectorAll("table.grid"), align);
  });
})();

// a diagram wider than its frame scrolls sideways; it opens with its current step in view
// (centred), not at its left edge, where the step a form waits at may lie out of sight; a
// process map, which has no current step, opens at its first step where forms wait
(function () {
  "use strict";

  function reveal(frame) {
    var step = frame.querySelector("svg.bpmn-diagram g.current") ||
      frame.querySelector("svg.bpmn-diagram g.hot");
    if (!step || frame.scrollWidth <= frame.clientWidth) { return; }
    var box = step.getBoundingClientRect();
    var seen = frame.getBoundingClientRect();
    var middle = box.left + box.width / 2 - seen.left + frame.scrollLeft;
    frame.scrollLeft = Math.max(0, middle - frame.clientWidth / 2);
  }

  whenRead(function () {
    Array.prototype.forEach.call(document.querySelectorAll(".diagram"), reveal);
  });
})();

// a start form's table of persons wider than its frame says so above it: a required column
// may lie beyond the right edge (and under the 移除 column kept in sight there). A field
// focused there scrolls clear of that column: the frame's scroll-padding (app.css) does it
// for a box, not for a file picker, which Chromium scrolls to no further than in sight
(function () {
  "use strict";

  function clear(frame, event) {
    var row = event.target.closest && event.target.closest("tr");
    var drop = row && row.querySelector("td.drop");
    if (!drop || drop.contains(event.target)) { return; }
    var under = event.target.getBoundingClientRect().right - drop.getBoundingClientRect().left;
    if (under > 0) { frame.scrollLeft += under; }
  }

  whenRead(function () {
    Array.prototype.forEach.call(document.querySelectorAll(".lines-scroll"), function (frame) {
      var hint = frame.previousElementSibling;
      if (hint && hint.classList.contains("scroll-hint") && frame.scrollWidth > frame.clientWidth) {
        hint.hidden = false;
      }
      frame.addEventListener("focusin", function (event) {
        window.requestAnimationFrame(function () { clear(frame, event); });
      });
    });
  });
})();

// a form sent after the session ended (timed out, 退出 in another tab, revoked) is refused,
// never saved; what was typed is kept in this tab alone (sessionStorage) for one send: the
// refusal page (data-kept-form) or the sign-in page that says why (#signed-out) keeps it,
// and once signed in again, the same page gets its values back (not files, not passwords).
// Any other page after a send forgets it; it is dropped after two hours in any case.
(function () {
  "use strict";
  var SENT = "memberflow:sent", KEPT = "memberflow:kept", HOURS2 = 2 * 3600 * 1000;
  var store;
  try { store = window.sessionStorage; } catch (e) { return; }
  if (!store) { return; }
  var here = location.pathname + location.search;
  var skipped = { hidden: 1, file: 1, password: 1, submit: 1, button: 1, reset: 1 };

  function read(key) {
    try {
      var kept = JSON.parse(store.getItem(key) || "null");
      return kept && Date.now() - kept.at < HOURS2 ? kept : null;
    } catch (e) { return null; }
  }

  function fields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && !skipped[el.type] && !el.disabled;
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if ((form.getAttribute("method") || "").toLowerCase() !== "post") { return; }
    if (form.querySelector("input[type=password]")) { store.removeItem(SENT); return; }
    var values = [];
    fields(form).forEach(function (el) {
      if ((el.type === "checkbox" || el.type === "radio") && !el.checked) { return; }
      if (el.type === "select-multiple") {
        Array.prototype.forEach.call(el.selectedOptions, function (o) {
          values.push([el.name, o.value]);
        });
        return;
      }
      values.push([el.name, el.value]);
    });
    if (!values.length) { store.removeItem(SENT); return; }
    var action = form.getAttribute("action") || here;
    store.setItem(SENT, JSON.stringify({ at: Date.now(), page: here, action: action, values: values }));
  }, true);

  function restore(kept) {
    var form = Array.prototype.filter.call(document.forms, function (f) {
      return (f.getAttribute("action") || here) === kept.action;
    })[0];
    if (!form) { return false; }
    var byName = {};
    kept.values.forEach(function (pair) { (byName[pair[0]] = byName[pair[0]] || []).push(pair[1]); });
    var used = {};
    fields(form).forEach(function (el) {
      var list = byName[el.name];
      if (!list) { return; }
      if (el.type === "checkbox" || el.type === "radio") {
        el.checked = list.indexOf(el.value) >= 0;
      } else if (el.type === "select-multiple") {
        Array.prototype.forEach.call(el.options, function (o) { o.selected = list.indexOf(o.value) >= 0; });
      } else {
        var i = used[el.name] || 0;
        if (i < list.length) { el.value = list[i]; }
        used[el.name] = i + 1;
      }
    });
    var note = document.createElement("p");
    note.className = "flash info";
    note.id = "restored-form";
    note.setAttribute("role", "status");
    note.textContent = "已恢复您登录超时前填写的内容，请核对后再提交（上传的文件需重新选择）。";
    form.insertBefore(note, form.firstChild);
    return true;
  }

  whenRead(function () {
    var refused = document.querySelector("[data-kept-form]") || document.getElementById("signed-out");
    var sent = read(SENT);
    store.removeItem(SENT);
    if (refused) {
      if (sent) { store.setItem(KEPT, JSON.stringify(sent)); }
      return;
    }
    var kept = read(KEPT);
    if (!kept) { store.removeItem(KEPT); return; }
    if (location.pathname === "/login" || location.pathname === "/password") { return; }
    store.removeItem(KEPT);
    if (kept.page === here) { restore(kept); }
  });
})();

// where attention goes once a page is read (a screen reader, a keyboard): the summary of what
// a refused form got wrong; else what the address's #fragment names, when it takes focus (the
// row of a task just claimed, #task-12); else the messages of the last action (已退回：…).
// The messages are put in again a moment after the page loaded: a live region (role=alert,
// role=status) announces what changes in it, not what the page arrived with.
(function () {
  "use strict";
  var FOCUSABLE = "a[href], button, input, select, textarea, [tabindex]";

  function named() {
    if (location.hash.length < 2) { return null; }
    var el;
    try { el = document.getElementById(decodeURIComponent(location.hash.slice(1))); } catch (e) { return null; }
    return el && el.matches(FOCUSABLE) ? el : null;
  }

  function announceAgain(flashes) {
    var lists = Array.prototype.map.call(flashes.querySelectorAll("[role=alert], [role=status]"),
      function (list) {
        var items = Array.prototype.slice.call(list.children);
        items.forEach(function (item) { list.removeChild(item); });
        return { list: list, items: items };
      });
    window.setTimeout(function () {
      lists.forEach(function (one) {
        one.items.forEach(function (item) { one.list.appendChild(item); });
      });
    }, 100);
  }

  whenRead(function () {
    var flashes = document.querySelector(".flashes");
    if (flashes) { announceAgain(flashes); }
    var target = document.querySelector('.errorbox[tabindex="-1"]') || named() ||
      (document.querySelector("[autofocus]") ? null : flashes);
    if (target) { target.focus(); }
  });
})();

// a table wider than its frame (.table-scroll) scrolls sideways: the frame is then a named
// stop of the Tab key (a keyboard scrolls it with the arrow keys), and only then; looked at
// again when the window changes size (a phone turned)
(function () {
  "use strict";

  function nameOf(frame) {
    var table = frame.querySelector("table");
    var name = table && table.getAttribute("aria-label");
    var by = table && table.getAttribute("aria-labelledby");
    if (!name && by) {
      name = by.split(/\s+/).map(function (id) {
        var el = document.getElementById(id);
        return el ? el.textContent.trim() : "";
      }).join(" ").trim();
    }
    if (!name && table && table.caption) { name = table.caption.textContent.trim(); }
    if (!name) {
      var part = frame.closest("section, fieldset");
      var head = part && part.querySelector("h2, h3, legend");
      name = head ? head.textContent.trim() : "表格";
    }
    return name.replace(/\s+/g, " ") + "（可横向滚动）";
  }

  function mark(frame) {
    if (frame.scrollWidth > frame.clientWidth) {
      frame.setAttribute("tabindex", "0");
      frame.setAttribute("role", "region");
      frame.setAttribute("aria-label", nameOf(frame));
    } else {
      frame.removeAttribute("tabindex");
      frame.removeAttribute("role");
      frame.removeAttribute("aria-label");
    }
  }

  function markAll() {
    Array.prototype.forEach.call(document.querySelectorAll(".table-scroll"), mark);
  }

  whenRead(function () {
    markAll();
    var pending = 0;
    window.addEventListener("resize", function () {
      window.clearTimeout(pending);
      pending = window.setTimeout(markAll, 150);
    });
  });
})();

// a page's 打印 button (data-print, hidden until this script shows it; without the script the
// page says to use the browser's print): prints the page, its print styles hiding the menus
(function () {
  whenRead(function () {
    Array.prototype.forEach.call(document.querySelectorAll("button[data-print]"), function (b) {
      b.hidden = false;
      b.addEventListener("click", function () { window.print(); });
    });
  });
})();

// ticks that carry between a list's pages (a form with data-picks: 电子证书's 下载所选人员的证书):
// the ids ticked (its checkboxes name="member_ids" form=its id) are kept in this tab's
// sessionStorage under the form's data-picks key (the list's filters), restored on each page,
// counted (已选 N 人, 清除选择) and sent as hidden member_ids for the ticks on other pages; at
// most data-picks-max. Without the script (or storage), this page's ticks are sent alone.
(function () {
  function storage() {
    try { return window.sessionStorage; } catch (e) { return null; }
  }

  function setUp(form) {
    var store = storage();
    if (!store || !form.id) { return; }
    var key = "memberflow.picks." + form.getAttribute("data-picks");
    var most = parseInt(form.getAttribute("data-picks-max") || "0", 10);
    var boxes = Array.prototype.slice.call(
      document.querySelectorAll('input[type=checkbox][name=member_ids][form="' + form.id + '"]'));
    var kept = form.querySelector("[data-picks-kept]");
    var shown = form.querySelector("[data-picks-shown]");
    var count = form.querySelector("[data-picks-count]");
    var picked = [];
    try { picked = JSON.parse(store.getItem(key) || "[]"); } catch (e) { picked = []; }
    if (!Array.isArray(picked)) { picked = []; }
    picked = picked.filter(function (v) { return /^\d+$/.test(String(v)); }).map(String);

    function onThisPage(id) {
      return boxes.some(function (b) { return b.value === id; });
    }

    function draw() {
      try { store.setItem(key, JSON.stringify(picked)); } catch (e) { /* full: this page only */ }
      boxes.forEach(function (b) { b.checked = picked.indexOf(b.value) !== -1; });
      kept.textContent = "";
      picked.forEach(function (id) {
        if (onThisPage(id)) { return; }  // a ticked box sends it
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = "member_ids";
        input.value = id;
        kept.appendChild(input);
      });
      count.textContent = "已选 " + picked.length + " 人" +
        (most && picked.length >= most ? "（已达每次上限 " + most + " 人）" : "");
      shown.hidden = false;
    }

    // a box ticked before the script ran (the browser restores ticks on going back) counts too
    boxes.forEach(function (b) {
      if (b.checked && picked.indexOf(b.value) === -1) { picked.push(b.value); }
    });
    boxes.forEach(function (b) {
      b.addEventListener("change", function () {
        var at = picked.indexOf(b.value);
        if (b.checked && at === -1) {
          if (most && picked.length >= most) {
            b.checked = false;
            window.alert("每次最多下载 " + most + " 人的证书，请先下载已选的人员或清除选择。");
            return;
          }
          picked.push(b.value);
        } else if (!b.checked && at !== -1) {
          picked.splice(at, 1);
        }
        draw();
      });
    });
    form.querySelector("[data-picks-clear]").addEventListener("click", function () {
      picked = [];
      draw();
    });
    draw();
  }

  whenRead(function () {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-picks]"), setUp);
  });
})();

// The join page (data-applicant-check on its form): as soon as the ID number is typed (or
// its type or the birth date changed), the join rules are asked what they say of the
// document — the age on it above all — and the answer is shown under the number, before
// the photos and materials are chosen and sent. Without this script the submission says it.
(function () {
  "use strict";
  var FIELDS = ["id_type", "id_number", "birth_date"];
  var asked = 0;  // only the latest question's answer is shown

  function show(form, problem) {
    var input = form.elements.id_number;
    if (!input) { return; }
    noteAtField(input, "check", "applicant-check", problem ? "不符合入会条件：" + problem : null);
  }

  function check(form) {
    var number = form.elements.id_number;
    if (!window.fetch || !number) { return; }
    var mine = ++asked;
    if (!number.value.trim()) { show(form, null); return; }
    var body = new FormData();
    body.append("csrf_token", form.elements.csrf_token ? form.elements.csrf_token.value : "");
    FIELDS.forEach(function (name) {
      var field = form.elements[name];
      if (field && field.value) { body.append(name, field.value); }
    });
    fetch(form.getAttribute("data-applicant-check"), {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json" }
    })
      .then(function (reply) { return reply.ok ? reply.json() : Promise.reject(reply.status); })
      .then(function (answer) { if (mine === asked) { show(form, answer.problem); } })
      .catch(function () {});  // no answer: the submission checks
  }

  function watched(target) {
    var form = target && target.form;
    return form && form.hasAttribute("data-applicant-check") &&
      FIELDS.indexOf(target.name) !== -1 ? form : null;
  }

  document.addEventListener("change", function (event) {
    var form = watched(event.target);
    if (form) { check(form); }
  });
  // a resident ID number is whole at 18 characters: asked then, before the field is left
  document.addEventListener("input", function (event) {
    var form = watched(event.target);
    if (form && event.target.name === "id_number" && event.target.value.trim().length === 18) {
      check(form);
    }
  });
})();

// A text box with data-max-chars: its maxlength is twice that (the browser counts UTF-16
// units, and 𠮷 is two of them: schemaform.limit_attributes), so nothing a person may send is
// cut as it is typed or pasted. What is over the limit in characters (code points, as the
// server counts) is said at the field as it is typed; the server refuses it, naming the field.
(function () {
  "use strict";

  function characters(text) {
    return Array.from(text).length;  // code points: 𠮷 is one, as the server counts it
  }

  function said(input, message) {
    noteAtField(input, "length", "length-check", message);
  }

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input || !input.id || !input.hasAttribute || !input.hasAttribute("data-max-chars")) {
      return;
    }
    var limit = parseInt(input.getAttribute("data-max-chars"), 10);
    var typed = characters(input.value);
    said(input, limit && typed > limit ? "最多 " + limit + " 个字，已输入 " + typed + " 个" : null);
  });
})();
