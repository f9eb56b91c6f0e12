import {
  AttributeIds,
  browseAll,
  BrowseDirection,
  DataTypeIds,
  makeBrowsePath,
  NodeClass,
  NodeClassMask,
  ReferenceTypeIds,
  resolveNodeId,
  type ClientSession,
  type NodeId,
  type ReferenceDescription,
} from 'node-opcua-client';

// The address space as a field engineer sees it: objects and variables below a start node, with data
// types, units and current values, to a depth limit, reporting progress as it goes.

export interface BrowsedNode {
  nodeId: string;
  /** ns:Name */
  browseName: string;
  displayName: string;
  nodeClass: 'Object' | 'Variable';
  /** Relative path from the start node, OPC-UA text form (/1:Cabinet01/1:Door). */
  path: string;
  depth: number;
  dataType?: string;
  unit?: string;
  value?: string;
}

export interface BrowseOptions {
  depth: number;
  maxNodes: number;
  /** Include namespace 0 (the server's own diagnostics) below the start node. */
  includeServerNodes?: boolean;
  onProgress?: (browsed: number, depth: number) => void;
}

const BATCH = 200;
const builtInNames = new Map(Object.entries(DataTypeIds).map(([k, v]) => [Number(v), k]));

function dataTypeName(id: NodeId | undefined): string {
  if (!id) return '?';
  return id.namespace === 0 && typeof id.value === 'number' ? builtInNames.get(id.value) ?? id.toString() : id.toString();
}

function showValue(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object' && v && 'text' in v) return String((v as { text: unknown }).text);
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return `[${Array.from(v as ArrayLike<unknown>).slice(0, 4).join(', ')}${(v as ArrayLike<unknown>).length > 4 ? ', …' : ''}]`;
  const s = String(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

/** Parses a start node: a node id (ns=1;s=Cabinet01, i=85) or a browse path from Objects (/1:Cabinet01). */
export async function resolveStart(session: ClientSession, start: string | undefined): Promise<NodeId> {
  if (!start) return resolveNodeId('ObjectsFolder');
  if (!/^[/.<]/.test(start)) return resolveNodeId(start);
  const r = await session.translateBrowsePath(makeBrowsePath('ObjectsFolder', start));
  const t = r.targets?.[0]?.targetId;
  if (!r.statusCode.isGood() || !t) throw new Error(`browse path ${start} does not exist on the server (${r.statusCode.name})`);
  return resolveNodeId(t.toString());
}

/** Breadth-first, level by level, in batches: a large PLC does not get thousands of requests at once. */
export async function browseTree(session: ClientSession, start: NodeId, o: BrowseOptions): Promise<{ nodes: BrowsedNode[]; truncated: boolean }> {
  const nodes: BrowsedNode[] = [];
  let level: Array<{ id: NodeId; path: string }> = [{ id: start, path: '' }];
  let truncated = false;
  for (let depth = 1; depth <= o.depth && level.length && !truncated; depth++) {
    const next: Array<{ id: NodeId; path: string }> = [];
    for (let i = 0; i < level.length && !truncated; i += BATCH) {
      const part = level.slice(i, i + BATCH);
      const results = await browseAll(
        session,
        part.map((p) => ({
          nodeId: p.id,
          browseDirection: BrowseDirection.Forward,
          referenceTypeId: ReferenceTypeIds.HierarchicalReferences,
          includeSubtypes: true,
          nodeClassMask: NodeClassMask.Object | NodeClassMask.Variable,
          resultMask: 63,
        })),
      );
      const found: Array<{ ref: ReferenceDescription; path: string }> = [];
      results.forEach((r, k) => {
        for (const ref of r.references ?? []) {
          if (ref.referenceTypeId.namespace === 0 && ref.referenceTypeId.value === 46) continue; // HasProperty: shown as the variable's unit
          // Namespace 0 holds the server's own objects (Server, Aliases, Locations...), not the cabinet's.
          if (!o.includeServerNodes && ref.nodeId.namespace === 0) continue;
          found.push({ ref, path: `${part[k]!.path}/${ref.browseName.namespaceIndex}:${ref.browseName.name}` });
        }
      });
      const vars = found.filter((f) => f.ref.nodeClass === NodeClass.Variable);
      const details = await describeVariables(session, vars.map((v) => resolveNodeId(v.ref.nodeId.toString())));
      let vi = 0;
      for (const f of found) {
        if (nodes.length >= o.maxNodes) {
          truncated = true;
          break;
        }
        const id = resolveNodeId(f.ref.nodeId.toString());
        const isVar = f.ref.nodeClass === NodeClass.Variable;
        const d = isVar ? details[vi++] : undefined;
        nodes.push({
          nodeId: id.toString(),
          browseName: `${f.ref.browseName.namespaceIndex}:${f.ref.browseName.name}`,
          displayName: f.ref.displayName?.text ?? String(f.ref.browseName.name),
          nodeClass: isVar ? 'Variable' : 'Object',
          path: f.path,
          depth,
          ...d,
        });
        next.push({ id, path: f.path });
      }
      o.onProgress?.(nodes.length, depth);
    }
    level = next;
  }
  return { nodes: asTree(nodes), truncated };
}

/** Breadth-first results in tree order: each node followed by its children, in the server's order. */
function asTree(nodes: BrowsedNode[]): BrowsedNode[] {
  const children = new Map<string, BrowsedNode[]>();
  for (const n of nodes) {
    const parent = n.path.slice(0, n.path.lastIndexOf('/'));
    const list = children.get(parent);
    if (list) list.push(n);
    else children.set(parent, [n]);
  }
  const out: BrowsedNode[] = [];
  const walk = (path: string) => {
    for (const n of children.get(path) ?? []) {
      out.push(n);
      walk(n.path);
    }
  };
  walk('');
  return out;
}

/** Data type, current value and engineering unit of variables, in a few batched requests. */
async function describeVariables(session: ClientSession, ids: NodeId[]): Promise<Array<{ dataType?: string; value?: string; unit?: string }>> {
  const out: Array<{ dataType?: string; value?: string; unit?: string }> = ids.map(() => ({}));
  for (let i = 0; i < ids.length; i += BATCH) {
    const part = ids.slice(i, i + BATCH);
    const reads = await session.read(part.flatMap((nodeId) => [
      { nodeId, attributeId: AttributeIds.DataType },
      { nodeId, attributeId: AttributeIds.Value },
    ]));
    const units = await session.translateBrowsePath(part.map((id) => makeBrowsePath(id, '.EngineeringUnits')));
    const unitIds = units.map((u) => (u.statusCode.isGood() ? u.targets?.[0]?.targetId : undefined));
    const present = unitIds.map((u, k) => ({ u, k })).filter((x) => x.u);
    const unitValues = present.length ? await session.read(present.map((x) => ({ nodeId: resolveNodeId(x.u!.toString()), attributeId: AttributeIds.Value }))) : [];
    part.forEach((_, k) => {
      const dt = reads[2 * k]!;
      const val = reads[2 * k + 1]!;
      out[i + k] = {
        ...(dt.statusCode.isGood() && { dataType: dataTypeName(dt.value.value as NodeId) }),
        ...(val.statusCode.isGood() && { value: showValue(val.value.value) }),
      };
    });
    present.forEach((x, j) => {
      const eu = unitValues[j]?.value.value as { displayName?: { text?: string }; description?: { text?: string } } | undefined;
      const text = eu?.displayName?.text;
      if (text) out[i + x.k]!.unit = text;
    });
  }
  return out;
}
