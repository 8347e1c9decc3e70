;; Canonical JSON id lists for src/mem/id-scan.ts. Memory: the window of the request body at 0
;; (ending in a 0 byte the caller writes), the count and max of the last list read at 65528 and
;; 65532 (read through a typed array: a WebAssembly.Global's value is a call into the runtime),
;; the ids read at OUT (65536).
(module
  (memory (export "memory") 4)
  ;; The list whose first byte is at $p (just past '['): unsigned ints without leading zeros, one
  ;; comma between them, optionally followed by one space, no other spaces. Returns the index past ']' and stores count and max, or
  ;; -1 - q for a list refused at byte q (q is the window's end when the list runs past it).
  (func (export "scan") (param $p i32) (result i32)
    (local $v i64) (local $d i32) (local $first i32) (local $o i32) (local $m i32) (local $c i32)
    (local.set $o (i32.const 65536))
    (local.set $m (i32.const -1))
    (i32.store (i32.const 65528) (i32.const 0))
    (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 93))
      (then (i32.store (i32.const 65532) (i32.const -1)) (return (i32.add (local.get $p) (i32.const 1)))))
    (loop $id
      (local.set $d (i32.sub (i32.load8_u (local.get $p)) (i32.const 48)))
      (if (i32.gt_u (local.get $d) (i32.const 9)) (then (return (i32.sub (i32.const -1) (local.get $p)))))
      (local.set $first (local.get $p))
      (local.set $v (i64.extend_i32_u (local.get $d)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (block $done
        (loop $digit
          (local.set $d (i32.sub (i32.load8_u (local.get $p)) (i32.const 48)))
          (br_if $done (i32.gt_u (local.get $d) (i32.const 9)))
          ;; Past 10 digits the list is refused below; stop before $v could wrap.
          (br_if $done (i32.gt_u (i32.sub (local.get $p) (local.get $first)) (i32.const 10)))
          (local.set $v (i64.add (i64.mul (local.get $v) (i64.const 10)) (i64.extend_i32_u (local.get $d))))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (br $digit)))
      (if (i32.gt_u (i32.sub (local.get $p) (local.get $first)) (i32.const 10)) (then (return (i32.sub (i32.const -1) (local.get $p)))))
      (if (i32.and (i32.eq (i32.load8_u (local.get $first)) (i32.const 48)) (i32.gt_u (i32.sub (local.get $p) (local.get $first)) (i32.const 1)))
        (then (return (i32.sub (i32.const -1) (local.get $p)))))
      (if (i64.gt_u (local.get $v) (i64.const 2147483647)) (then (return (i32.sub (i32.const -1) (local.get $p)))))
      (i32.store (local.get $o) (i32.wrap_i64 (local.get $v)))
      (local.set $o (i32.add (local.get $o) (i32.const 4)))
      (if (i32.gt_s (i32.wrap_i64 (local.get $v)) (local.get $m)) (then (local.set $m (i32.wrap_i64 (local.get $v)))))
      (local.set $c (i32.load8_u (local.get $p)))
      (if (i32.eq (local.get $c) (i32.const 44))
        (then
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          ;; One space after a comma, as Python's json.dumps writes lists.
          (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 32)) (then (local.set $p (i32.add (local.get $p) (i32.const 1)))))
          (br $id)))
      (if (i32.ne (local.get $c) (i32.const 93)) (then (return (i32.sub (i32.const -1) (local.get $p))))))
    (i32.store (i32.const 65528) (i32.shr_u (i32.sub (local.get $o) (i32.const 65536)) (i32.const 2)))
    (i32.store (i32.const 65532) (local.get $m))
    (i32.add (local.get $p) (i32.const 1))))
