// Small helpers the grounding pages build themselves with: icons as inline
// SVG and elements marked as targets (data-i: the instruction; data-t: icon).
var ICONS = {
  search: '<circle cx="9" cy="9" r="6" fill="none" stroke="currentColor" stroke-width="2"/><line x1="13.5" y1="13.5" x2="19" y2="19" stroke="currentColor" stroke-width="2"/>',
  gear: '<circle cx="10" cy="10" r="3" fill="none" stroke="currentColor" stroke-width="2"/><circle cx="10" cy="10" r="7.5" fill="none" stroke="currentColor" stroke-width="2" stroke-dasharray="3 2"/>',
  trash: '<rect x="5" y="6" width="10" height="12" fill="none" stroke="currentColor" stroke-width="2"/><line x1="3" y1="5" x2="17" y2="5" stroke="currentColor" stroke-width="2"/>',
  plus: '<line x1="10" y1="3" x2="10" y2="17" stroke="currentColor" stroke-width="2"/><line x1="3" y1="10" x2="17" y2="10" stroke="currentColor" stroke-width="2"/>',
  close: '<line x1="4" y1="4" x2="16" y2="16" stroke="currentColor" stroke-width="2"/><line x1="16" y1="4" x2="4" y2="16" stroke="currentColor" stroke-width="2"/>',
  menu: '<line x1="3" y1="5" x2="17" y2="5" stroke="currentColor" stroke-width="2"/><line x1="3" y1="10" x2="17" y2="10" stroke="currentColor" stroke-width="2"/><line x1="3" y1="15" x2="17" y2="15" stroke="currentColor" stroke-width="2"/>',
  star: '<polygon points="10,2 12.5,7.5 18,8 14,12 15,18 10,15 5,18 6,12 2,8 7.5,7.5" fill="none" stroke="currentColor" stroke-width="1.5"/>',
  heart: '<path d="M10 17 L3 10 A4 4 0 0 1 10 5 A4 4 0 0 1 17 10 Z" fill="none" stroke="currentColor" stroke-width="2"/>',
  bell: '<path d="M5 14 L5 9 A5 5 0 0 1 15 9 L15 14 Z" fill="none" stroke="currentColor" stroke-width="2"/><circle cx="10" cy="17" r="1.5" fill="currentColor"/>',
  home: '<polygon points="10,3 17,9 15,9 15,17 5,17 5,9 3,9" fill="none" stroke="currentColor" stroke-width="2"/>',
  mail: '<rect x="2" y="5" width="16" height="11" fill="none" stroke="currentColor" stroke-width="2"/><polyline points="2,5 10,11 18,5" fill="none" stroke="currentColor" stroke-width="2"/>',
  refresh: '<path d="M16 10 A6 6 0 1 1 13 4.8" fill="none" stroke="currentColor" stroke-width="2"/><polygon points="12,1 17,4 12,7" fill="currentColor"/>',
  pencil: '<polygon points="4,16 5,12 14,3 17,6 8,15" fill="none" stroke="currentColor" stroke-width="2"/>',
  download: '<line x1="10" y1="3" x2="10" y2="13" stroke="currentColor" stroke-width="2"/><polyline points="6,9 10,13 14,9" fill="none" stroke="currentColor" stroke-width="2"/><line x1="4" y1="17" x2="16" y2="17" stroke="currentColor" stroke-width="2"/>',
  upload: '<line x1="10" y1="15" x2="10" y2="4" stroke="currentColor" stroke-width="2"/><polyline points="6,8 10,4 14,8" fill="none" stroke="currentColor" stroke-width="2"/><line x1="4" y1="17" x2="16" y2="17" stroke="currentColor" stroke-width="2"/>',
  left: '<polyline points="13,3 6,10 13,17" fill="none" stroke="currentColor" stroke-width="2.5"/>',
  right: '<polyline points="7,3 14,10 7,17" fill="none" stroke="currentColor" stroke-width="2.5"/>',
  user: '<circle cx="10" cy="7" r="4" fill="none" stroke="currentColor" stroke-width="2"/><path d="M3 18 A7 6 0 0 1 17 18" fill="none" stroke="currentColor" stroke-width="2"/>',
  cart: '<polyline points="2,3 5,3 7,13 16,13 18,6 6,6" fill="none" stroke="currentColor" stroke-width="2"/><circle cx="8" cy="16" r="1.5" fill="currentColor"/><circle cx="15" cy="16" r="1.5" fill="currentColor"/>',
  archive: '<rect x="2" y="3" width="16" height="4" fill="none" stroke="currentColor" stroke-width="2"/><rect x="4" y="7" width="12" height="10" fill="none" stroke="currentColor" stroke-width="2"/>',
  reply: '<polyline points="8,4 3,9 8,14" fill="none" stroke="currentColor" stroke-width="2"/><path d="M3 9 L12 9 A5 5 0 0 1 17 14 L17 16" fill="none" stroke="currentColor" stroke-width="2"/>',
  folder: '<polygon points="2,5 8,5 10,7 18,7 18,16 2,16" fill="none" stroke="currentColor" stroke-width="2"/>',
  file: '<polygon points="5,2 12,2 16,6 16,18 5,18" fill="none" stroke="currentColor" stroke-width="2"/>',
  bold: '<path d="M6 3 L11 3 A3.5 3.5 0 0 1 11 10 L6 10 Z M6 10 L12 10 A3.5 3.5 0 0 1 12 17 L6 17 Z" fill="none" stroke="currentColor" stroke-width="2"/>',
  italic: '<line x1="12" y1="3" x2="8" y2="17" stroke="currentColor" stroke-width="2"/><line x1="9" y1="3" x2="15" y2="3" stroke="currentColor" stroke-width="2"/><line x1="5" y1="17" x2="11" y2="17" stroke="currentColor" stroke-width="2"/>',
  underline: '<path d="M6 3 L6 10 A4 4 0 0 0 14 10 L14 3" fill="none" stroke="currentColor" stroke-width="2"/><line x1="4" y1="17" x2="16" y2="17" stroke="currentColor" stroke-width="2"/>',
  alignleft: '<line x1="3" y1="4" x2="17" y2="4" stroke="currentColor" stroke-width="2"/><line x1="3" y1="9" x2="12" y2="9" stroke="currentColor" stroke-width="2"/><line x1="3" y1="14" x2="17" y2="14" stroke="currentColor" stroke-width="2"/>',
  aligncenter: '<line x1="3" y1="4" x2="17" y2="4" stroke="currentColor" stroke-width="2"/><line x1="6" y1="9" x2="14" y2="9" stroke="currentColor" stroke-width="2"/><line x1="3" y1="14" x2="17" y2="14" stroke="currentColor" stroke-width="2"/>',
  print: '<rect x="5" y="2" width="10" height="5" fill="none" stroke="currentColor" stroke-width="2"/><rect x="2" y="7" width="16" height="7" fill="none" stroke="currentColor" stroke-width="2"/><rect x="5" y="12" width="10" height="6" fill="none" stroke="currentColor" stroke-width="2"/>',
  share: '<circle cx="5" cy="10" r="2.5" fill="none" stroke="currentColor" stroke-width="2"/><circle cx="15" cy="4" r="2.5" fill="none" stroke="currentColor" stroke-width="2"/><circle cx="15" cy="16" r="2.5" fill="none" stroke="currentColor" stroke-width="2"/><line x1="7" y1="9" x2="13" y2="5" stroke="currentColor" stroke-width="1.5"/><line x1="7" y1="11" x2="13" y2="15" stroke="currentColor" stroke-width="1.5"/>'
};
// An icon button: the instruction says what it does.
function iconButton(name, instruction) {
  return '<span class="icon" data-t="icon" data-i="' + instruction + '"><svg viewBox="0 0 20 20">' + ICONS[name] + '</svg></span>';
}
// Any element with visible text as a target; the instruction defaults to the text.
function t(tag, text, instruction, attrs) {
  return '<' + tag + ' data-i="' + (instruction || text) + '"' + (attrs ? ' ' + attrs : '') + '>' + text + '</' + tag + '>';
}
