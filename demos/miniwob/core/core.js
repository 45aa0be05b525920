// deskpilot's stand-in for MiniWoB++'s core/core.js: our own code speaking
// the same protocol, so that `deskpilot eval miniwob` can be tested without
// MiniWoB++ (which is not ours to ship). What the harness relies on:
//   core.startEpisode()      shows the START cover, #sync-task-cover
//   core.startEpisodeReal()  (the cover's click) draws the problem (genProblem)
//                            and starts the timer of core.EPISODE_MAX_TIME ms
//   core.endEpisode(reward, timeProportional, reason)
//                            sets WOB_REWARD_GLOBAL, WOB_RAW_REWARD_GLOBAL,
//                            WOB_REWARD_REASON, WOB_DONE_GLOBAL, WOB_EPISODE_ID,
//                            logs "reward: X (raw: Y)" and shows the cover again
//   core.getUtterance()      the task's words (#query)
//   Math.seedrandom(seed)    makes Math.random repeatable
var core = {};
var WOB_REWARD_GLOBAL = 0;
var WOB_RAW_REWARD_GLOBAL = 0;
var WOB_REWARD_REASON = null;
var WOB_DONE_GLOBAL = false;
var WOB_EPISODE_ID = 0;
core.EPISODE_MAX_TIME = 10000;  // ms

// A seeded generator (a 32-bit xorshift-multiply mix over an FNV-1a hash of the seed).
(function () {
  var state = 0;
  function next() {
    state = (state + 0x9E3779B9) >>> 0;
    var t = state;
    t = Math.imul(t ^ (t >>> 16), 0x21F0AAAD);
    t = Math.imul(t ^ (t >>> 15), 0x735A2D97);
    return ((t ^ (t >>> 15)) >>> 0) / 4294967296;
  }
  Math.seedrandom = function (seed) {
    var h = 0x811C9DC5, s = String(seed);
    for (var i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    state = h >>> 0;
    Math.random = next;
  };
})();

core.randi = function (min, max) { return Math.floor(Math.random() * (max - min) + min); };
core.sample = function (list) { return list[core.randi(0, list.length)]; };
core.shuffle = function (list) {
  for (var i = list.length - 1; i > 0; i--) {
    var j = core.randi(0, i + 1), t = list[i];
    list[i] = list[j];
    list[j] = t;
  }
  return list;
};

core.timer = null;
core.cover = null;
core.started = 0;

core.startEpisode = function () {
  if (core.cover === null) {
    core.cover = document.createElement('div');
    core.cover.id = 'sync-task-cover';
    core.cover.textContent = 'START';
    core.cover.onclick = function () { core.startEpisodeReal(); };
    document.body.appendChild(core.cover);
  }
  core.cover.style.display = 'block';
};

core.startEpisodeReal = function () {
  genProblem();
  WOB_DONE_GLOBAL = false;
  WOB_REWARD_GLOBAL = 0;
  WOB_RAW_REWARD_GLOBAL = 0;
  WOB_REWARD_REASON = null;
  core.cover.style.display = 'none';
  core.started = Date.now();
  if (core.timer !== null) clearTimeout(core.timer);
  core.timer = setTimeout(function () { core.endEpisode(-1, false, 'timed out'); }, core.EPISODE_MAX_TIME);
};

core.endEpisode = function (reward, timeProportional, reason) {
  if (core.timer === null) return;  // one reward per episode
  clearTimeout(core.timer);
  core.timer = null;
  WOB_RAW_REWARD_GLOBAL = reward;
  WOB_REWARD_REASON = reason === undefined ? null : reason;
  if (timeProportional) reward *= Math.max(0, 1 - (Date.now() - core.started) / core.EPISODE_MAX_TIME);
  WOB_REWARD_GLOBAL = reward;
  WOB_DONE_GLOBAL = true;
  WOB_EPISODE_ID++;
  console.log('reward: ' + WOB_REWARD_GLOBAL + ' (raw: ' + WOB_RAW_REWARD_GLOBAL + ')');
  core.startEpisode();
};

core.getUtterance = function () {
  return document.getElementById('query').textContent.replace(/\s+/g, ' ').trim();
};
