// The console's page and stylesheet. The page is a shell: everything in it is drawn by
// /console/assets/app.js (compiled from web/app.ts). No inline script or style: the CSP forbids both.

export function consolePage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GridGate console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/assets/console.css">
<script type="module" src="/console/assets/app.js"></script>
</head>
<body>
<div id="app"><noscript>The GridGate console needs JavaScript. 控制台需要启用 JavaScript。</noscript></div>
</body>
</html>
`;
}

export const CONSOLE_CSS = `
:root { --fg: #1d2733; --muted: #5b6b7c; --line: #d7dee6; --bg: #f5f7fa; --card: #fff; --accent: #0a66c2; --ok: #1a7f37; --bad: #c62828; --warn: #b26a00; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif; color: var(--fg); background: var(--bg); }
header nav { display: flex; gap: 4px; align-items: center; padding: 8px 16px; background: #12263a; color: #fff; }
header nav a, header nav button.link { color: #cfe0f2; text-decoration: none; padding: 6px 10px; border-radius: 4px; }
header nav a.active, header nav a:hover { background: #1f3d5c; color: #fff; }
.brand { font-weight: 600; margin-right: 16px; }
.spacer { flex: 1; }
main { padding: 16px; max-width: 1200px; margin: 0 auto; }
h2 { margin: 8px 0 12px; font-size: 20px; }
h3 { margin: 16px 0 8px; font-size: 16px; }
table { border-collapse: collapse; width: 100%; background: var(--card); }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { background: #eef2f6; font-weight: 600; }
button, a.button { font: inherit; padding: 5px 12px; border: 1px solid var(--line); background: #fff; border-radius: 4px; cursor: pointer; color: var(--fg); text-decoration: none; display: inline-block; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.danger { color: var(--bad); }
button.link { border: 0; background: none; padding: 0 4px; color: var(--accent); }
button.link.active { font-weight: 600; text-decoration: underline; }
button:disabled { opacity: .5; cursor: default; }
input, select, textarea { font: inherit; padding: 5px 8px; border: 1px solid var(--line); border-radius: 4px; background: #fff; }
label { display: block; margin: 8px 0; }
label input:not([type=checkbox]), label select { display: block; width: 100%; margin-top: 2px; }
.toolbar { display: flex; flex-wrap: wrap; gap: 6px; margin: 8px 0; align-items: center; }
.msg { padding: 8px 12px; border-radius: 4px; margin: 8px 0; }
.msg.error { background: #fdecea; color: var(--bad); border: 1px solid #f5c2bd; }
.msg.ok { background: #e8f5ec; color: var(--ok); border: 1px solid #b7dfc2; }
.msg.info { background: #e8f0fb; color: #17416b; border: 1px solid #bdd3ef; }
.banner { background: #fff4e5; color: var(--warn); padding: 6px 16px; border-bottom: 1px solid #f0d2a8; }
.none { color: var(--muted); }
.ok, .state.online { color: var(--ok); }
.bad, .state.offline { color: var(--bad); }
.state.unknown { color: var(--muted); }
.sev.critical, .sev.major { color: var(--bad); font-weight: 600; }
.login-page { max-width: 380px; margin: 10vh auto; background: var(--card); padding: 24px; border-radius: 8px; border: 1px solid var(--line); position: relative; }
.login-page .topright { position: absolute; right: 12px; top: 12px; }
.login h1 { font-size: 18px; margin: 0 0 12px; }
.login button[type=submit] { margin-top: 8px; width: 100%; }
.health { padding: 10px 14px; border-radius: 6px; font-weight: 600; margin-bottom: 12px; }
.health.ok { background: #e8f5ec; }
.health.warn { background: #fff4e5; color: var(--warn); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(250px, 1fr)); gap: 12px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; }
.card h3 { margin: 0 0 6px; }
.card dl { display: grid; grid-template-columns: auto 1fr; gap: 2px 10px; margin: 0; }
.card dt { color: var(--muted); }
.card dd { margin: 0; word-break: break-all; }
.values .metric { display: inline-block; margin-right: 12px; white-space: nowrap; }
.chart-box { margin: 8px 0; background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 6px; }
.chart-box figcaption { color: var(--muted); font-size: 12px; }
svg.chart { width: 100%; max-width: 640px; height: auto; display: block; }
svg.chart .axis { stroke: #9aa8b6; stroke-width: 1; }
svg.chart .tick { font-size: 10px; fill: var(--muted); }
svg.chart .line { fill: none; stroke: var(--accent); stroke-width: 1.5; }
svg.chart .dot { fill: var(--accent); }
.zone-layout { display: flex; gap: 16px; align-items: flex-start; flex-wrap: wrap; }
.stage-col { flex: 3 1 480px; }
.zone-side { flex: 1 1 260px; background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; }
.stage { position: relative; width: 100%; background: repeating-linear-gradient(45deg, #e9edf2, #e9edf2 8px, #f3f5f8 8px, #f3f5f8 16px); user-select: none; touch-action: none; }
.stage .snapshot, .stage .blank { position: absolute; object-fit: fill; }
.stage .blank { background: #2b3440; color: #cfd8e3; display: flex; align-items: center; justify-content: center; text-align: center; padding: 12px; }
.stage .overlay { position: absolute; inset: 0; width: 100%; height: 100%; cursor: crosshair; }
.overlay .frame { fill: none; stroke: #fff; stroke-dasharray: 4 3; stroke-width: 1; }
.overlay .zone { fill: rgba(10, 102, 194, .18); stroke: #0a66c2; stroke-width: 2; cursor: pointer; }
.overlay .zone.selected { fill: rgba(255, 193, 7, .25); stroke: #ffb300; }
.overlay .zone.invalid { fill: rgba(198, 40, 40, .25); stroke: var(--bad); }
.overlay .zone-label { fill: #fff; font-size: 12px; paint-order: stroke; stroke: #000; stroke-width: 3px; pointer-events: none; }
.overlay .vertex { fill: #fff; stroke: #ffb300; stroke-width: 2; cursor: move; }
.overlay .vertex.active { fill: #ffb300; }
.overlay .vertex.invalid { stroke: var(--bad); fill: #fdecea; }
.overlay .vertex.first { stroke: var(--ok); }
.overlay .mid { fill: #ffb300; opacity: .7; cursor: copy; }
.overlay .drawing { fill: none; stroke: #ffb300; stroke-width: 2; stroke-dasharray: 5 3; }
.rules label { margin: 4px 0; }
.problems li.error { color: var(--bad); }
.hint { color: var(--muted); font-size: 12px; }
.unsaved { color: var(--warn); }
.config textarea { width: 100%; font: 13px/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; min-height: 60vh; }
.evidence-img { max-width: 320px; display: block; margin: 4px 0; }
pre { background: #f0f3f6; padding: 8px; overflow: auto; }
`;
