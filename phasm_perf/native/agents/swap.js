// phasm-perf: put a compiled replacement (a shim built from runtime/shim.c) in place of one function (Frida 17).
//
// rpc init(params) before the program starts; params:
//   {module (path), offset (from its base), shim (path of the shim .so), mode (-1 nothing, 0 pass-through,
//    1 capture, 2 swap, 3 pass-through timing the original),
//    budget (rows kept in capture), runtime (path of the surrogate runtime .so, swap), weights (its weights file),
//    dump (where the shim writes its counts and rows at exit)}
// Messages: {type: 'ready', address} / {type: 'exit', status, calls} / {type: 'crash', description, calls}.
// Nothing of phasm-perf runs in JavaScript per call: replaceFast sends the program's calls straight to the shim.
// The binary is never written: the replacement lives in the process's memory only, and goes with it.

let P = null;
let shimCalls = null;
let shimDump = null;

function findModule(path) {
  const name = path.split('/').pop();
  return Process.enumerateModules().find(m => m.path === path) || Process.findModuleByName(name);
}

function install(module) {
  const target = module.base.add(P.offset);
  const shim = Module.load(P.shim);
  const init = new NativeFunction(shim.getExportByName('phasm_shim_init'), 'int',
                                  ['pointer', 'int', 'pointer', 'pointer', 'long', 'pointer']);
  shimCalls = new NativeFunction(shim.getExportByName('phasm_shim_calls'), 'long', []);
  shimDump = new NativeFunction(shim.getExportByName('phasm_shim_dump'), 'long', ['pointer']);
  // the surrogate runtime is loaded by the shim on the first swapped call (the program's own thread, its C
  // library running): loading it here, while the program is paused at its start, can deadlock in the loader
  // the shim gets the original's address first: replaceFast returns it, and the shim reads `orig` only on a call
  const replacement = shim.getExportByName(P.entry || 'phasm_entry');
  const original = Interceptor.replaceFast(target, replacement);
  const rc = init(original, P.mode, Memory.allocUtf8String(P.runtime || ''), Memory.allocUtf8String(P.weights || ''),
                  P.budget || 0, module.base);
  if (rc !== 0) throw new Error(`the replacement could not start (${rc})`);
  send({type: 'ready', address: target.toString()});
}

// CPU seconds of the calling (main) thread: comparable between runs on a shared machine, where wall time is not
function threadCpu() {
  try {
    const getrusage = new NativeFunction(Module.getGlobalExportByName('getrusage'), 'int', ['int', 'pointer']);
    const ru = Memory.alloc(144);
    if (getrusage(1 /* RUSAGE_THREAD */, ru) !== 0) return null;
    const tv = o => Number(ru.add(o).readS64()) + Number(ru.add(o + 8).readS64()) * 1e-6;
    return tv(0) + tv(16);
  } catch (e) { return null; }
}

function finish(kind, extra) {
  let n = -1;
  const cpu = threadCpu();
  if (shimDump !== null) n = Number(shimDump(Memory.allocUtf8String(P.dump)));
  send(Object.assign({type: kind, calls: n, cpu: cpu}, extra));
  recv('ack', () => {}).wait();
}

rpc.exports = {
  init(params) {
    P = params;
    const exitFn = Process.getModuleByName('libc.so.6').findExportByName('exit');
    if (exitFn) Interceptor.attach(exitFn, {onEnter(args) { finish('exit', {status: args[0].toInt32()}); }});
    Process.setExceptionHandler(d => {
      finish('crash', {description: `${d.type} at ${d.address}`});
      return false;
    });
    if (P.mode < 0) return true;  // the unmodified program, timed the same way as the others
    const m = findModule(P.module);
    if (m) { install(m); return true; }
    Process.attachModuleObserver({
      onAdded(mod) { if (mod.path === P.module && shimDump === null) install(mod); }
    });
    return false;
  }
};
