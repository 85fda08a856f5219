// phasm-perf: the tracer for `phasm-perf vars` on a compiled function (runs inside the program, Frida 17).
//
// The Python side (phasm_perf/native/frida_run.py) loads this file, calls rpc init(params) before the program
// starts, and receives messages:
//   {type: 'ready', address}                                the function was found and hooked
//   {type: 'call', index, args, snapshots, accesses, ret, sp} one traced call (Stalker: every memory access)
//   {type: 'exit', status, calls}                            the program is exiting (calls: all calls seen)
//   {type: 'crash', description, calls}                      the program crashed under instrumentation
//   {type: 'error', message}                                 the agent could not do what it was asked
// params: {module (path), offset (from the module's base), traceCalls, args: [{name, reg | xmm | stack, size}],
//          ret: {kind: 'none'|'int'|'xmm'|'sret', size}, snapshots: [{arg, size} | {global, size}]}

const SKIP = new Set(['lea', 'nop', 'prefetcht0', 'prefetcht1', 'prefetcht2', 'prefetchnta', 'prefetchw',
                      'endbr64', 'clflush', 'clflushopt']);
let P = null;
let calls = 0;
let traced = 0;
let listener = null;
let counter = null;
let excluded = [];

function hex(p, n) {
  try { return Array.from(new Uint8Array(p.readByteArray(n)), b => ('0' + b.toString(16)).slice(-2)).join(''); }
  catch (e) { return null; }
}

function bufHex(ab, n) {
  return Array.from(new Uint8Array(ab).slice(0, n), b => ('0' + b.toString(16)).slice(-2)).join('');
}

function findModule(path) {
  const name = path.split('/').pop();
  return Process.enumerateModules().find(m => m.path === path) || Process.findModuleByName(name);
}

function regValue(ctx, name) {
  if (name === undefined || name === null) return ptr(0);
  const full = {eax: 'rax', ebx: 'rbx', ecx: 'rcx', edx: 'rdx', esi: 'rsi', edi: 'rdi', ebp: 'rbp', esp: 'rsp'}[name];
  if (full) return ctx[full].and(0xffffffff);
  if (/^r\d+d$/.test(name)) return ctx[name.slice(0, -1)].and(0xffffffff);
  return ctx[name];
}

function readArgs(ctx) {
  return P.args.map(a => {
    if (a.reg) return {name: a.name, value: ctx[a.reg].toString()};
    if (a.xmm !== undefined) return {name: a.name, hex: bufHex(ctx['xmm' + a.xmm], a.size)};
    if (a.stack !== undefined) return {name: a.name, hex: hex(ctx.sp.add(a.stack), a.size), address: ctx.sp.add(a.stack).toString()};
    return {name: a.name};
  });
}

function snapshots(ctx, base) {
  return P.snapshots.map(s => {
    let p = null;
    if (s.arg !== undefined) {
      const a = P.args[s.arg];
      p = a.reg ? ctx[a.reg] : null;
    } else if (s.global !== undefined) {
      p = base.add(s.global);
    }
    if (p === null || p.isNull()) return null;
    return {address: p.toString(), hex: hex(p, s.size)};
  });
}

function instrumentable(address) {
  for (const r of excluded) {
    if (address.compare(r.base) >= 0 && address.compare(r.base.add(r.size)) < 0) return false;
  }
  const m = Process.findModuleByAddress(address);
  // the dynamic linker resolving a symbol on a first call reads its own link maps: not the function's variables
  return m !== null && !m.name.startsWith('ld-linux');
}

function makeTransform(seen) {
  return function (iterator) {
    let ins;
    while ((ins = iterator.next()) !== null) {
      if (!SKIP.has(ins.mnemonic) && instrumentable(ins.address)) {
        for (const op of ins.operands) {
          if (op.type !== 'mem' || !op.access) continue;
          const m = op.value;
          if (m.base === 'rsp' || m.base === 'esp') continue;  // the function's own stack frame
          if (m.segment === 'fs' || m.segment === 'gs') continue;  // thread-local storage (errno, the stack guard)
          const size = op.size;
          const access = op.access;
          if (m.base === 'rip') {
            const addr = ins.address.add(ins.size).add(m.disp);
            iterator.putCallout(() => note(seen, addr, size, access));
          } else {
            const base = m.base, index = m.index, scale = m.scale || 1, disp = m.disp || 0;
            iterator.putCallout((ctx) => {
              let addr = regValue(ctx, base).add(disp);
              if (index) addr = addr.add(regValue(ctx, index).shl(Math.log2(scale) | 0));
              note(seen, addr, size, access);
            });
          }
        }
      }
      iterator.keep();
    }
  };
}

function note(seen, addr, size, access) {
  const key = addr.toString();
  let e = seen.get(key);
  if (e === undefined) {
    e = {address: key, size: size, first: access.indexOf('r') >= 0 ? 'r' : 'w', read: false, written: false,
         value: null};
    if (e.first === 'r') e.value = hex(addr, Math.min(size, 32));
    seen.set(key, e);
  }
  if (size > e.size) e.size = size;
  if (access.indexOf('r') >= 0) e.read = true;
  if (access.indexOf('w') >= 0) e.written = true;
}

function onEnter(args) {
  calls++;
  if (traced >= P.traceCalls) return;
  traced++;
  const ctx = this.context;
  this.rec = {type: 'call', index: calls, sp: ctx.sp.toString(), args: readArgs(ctx),
              snapshots: snapshots(ctx, P.base)};
  this.seen = new Map();
  this.tid = Process.getCurrentThreadId();
  Stalker.follow(this.tid, {transform: makeTransform(this.seen)});
}

function onLeave(retval) {
  if (this.seen === undefined) return;
  Stalker.unfollow(this.tid);
  Stalker.flush();
  const ctx = this.context;
  const rec = this.rec;
  if (P.ret.kind === 'int') rec.ret = {value: retval.toString()};
  else if (P.ret.kind === 'xmm') rec.ret = {hex: bufHex(ctx.xmm0, P.ret.size), hex1: bufHex(ctx.xmm1, 8)};
  else if (P.ret.kind === 'sret') rec.ret = {hex: hex(retval, P.ret.size), address: retval.toString()};
  rec.accesses = [];
  for (const e of this.seen.values()) {
    if (e.written) e.after = hex(ptr(e.address), Math.min(e.size, 32));
    rec.accesses.push(e);
  }
  send(rec);
  if (traced >= P.traceCalls && listener !== null) {
    const l = listener;
    listener = null;
    setImmediate(() => l.detach());
  }
}

function install(module) {
  const target = module.base.add(P.offset);
  P.base = module.base;
  // cheap count of every call (native code), the JS listener only for the traced ones
  const cell = Memory.alloc(8);
  counter = cell;
  const cm = new CModule(`
    #include <gum/guminterceptor.h>
    extern volatile long long count;
    void onEnter(GumInvocationContext *ic) { count++; }
  `, {count: cell});
  Interceptor.attach(target, cm);
  listener = Interceptor.attach(target, {onEnter: onEnter, onLeave: onLeave});
  send({type: 'ready', address: target.toString(), base: module.base.toString(),
        modules: Process.enumerateModules().map(m => [m.base.toString(), m.size])});
}

function finish(kind, extra) {
  const n = counter === null ? calls : Number(counter.readS64());
  send(Object.assign({type: kind, calls: n}, extra));
  recv('ack', () => {}).wait();  // hold the exiting thread until phasm-perf has the message
}

rpc.exports = {
  init(params) {
    P = params;
    for (const m of Process.enumerateModules()) {
      if (m.name.indexOf('frida') >= 0) excluded.push(m);
    }
    excluded.forEach(m => Stalker.exclude(m));
    const exitFn = Process.getModuleByName('libc.so.6').findExportByName('exit');
    if (exitFn) Interceptor.attach(exitFn, {onEnter(args) { finish('exit', {status: args[0].toInt32()}); }});
    Process.setExceptionHandler(d => {
      finish('crash', {description: `${d.type} at ${d.address}`});
      return false;
    });
    const m = findModule(P.module);
    if (m) { install(m); return true; }
    Process.attachModuleObserver({
      onAdded(mod) { if (mod.path === P.module && P.base === undefined) install(mod); }
    });
    return false;
  }
};
