package weights

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// A restricted reader of Python pickles (protocols 2 to 5): enough of the
// pickle machine to read the object tree of a PyTorch state dict, and no
// more. It runs no code: a reference to a Python callable (GLOBAL) is
// handed to the caller's globals hook, which accepts the few names a state
// dict uses and refuses the rest, and calls (REDUCE) and persistent ids
// (BINPERSID, how torch.save refers to tensor storages) go to hooks too.

// Pickled values: None is nil, then bool, int64, float64, string, []byte,
// pyTuple, *pyList, *pyDict, pyGlobal, and whatever the hooks return.
type (
	pyTuple  []any
	pyList   struct{ items []any }
	pyGlobal struct{ module, name string }
	// pyDict keeps insertion order; keys must be comparable scalars.
	pyDict struct {
		keys []any
		vals map[any]any
	}
)

func newDict() *pyDict { return &pyDict{} }

// maxKey bounds a dict key string: every lookup hashes the whole key, so
// long keys set over and over would cost minutes of CPU from a small
// pickle. State dict names are well under 1 KiB.
const maxKey = 1 << 10

func (d *pyDict) set(k, v any) error {
	switch k := k.(type) {
	case string:
		if len(k) > maxKey {
			return fmt.Errorf("dict key of %d bytes, more than %d", len(k), maxKey)
		}
	case nil, bool, int64, float64:
	default:
		return fmt.Errorf("dict key of type %T", k)
	}
	if d.vals == nil {
		d.vals = map[any]any{}
	}
	if _, ok := d.vals[k]; !ok {
		d.keys = append(d.keys, k)
	}
	d.vals[k] = v
	return nil
}

func (g pyGlobal) String() string { return g.module + "." + g.name }

// pickleHooks are the caller's answers to the opcodes that would run code.
type pickleHooks struct {
	global     func(g pyGlobal) error                      // accept or refuse a GLOBAL
	call       func(g pyGlobal, args pyTuple) (any, error) // REDUCE of an accepted global
	build      func(obj, state any) (any, error)           // BUILD (set an object's state)
	persistent func(pid any) (any, error)                  // BINPERSID
}

// markObj is the MARK opcode's stack entry.
type markObj struct{}

// unpickle runs the pickle in data and returns its result.
func unpickle(data []byte, h pickleHooks) (any, error) {
	u := unpickler{data: data, memo: map[uint64]any{}}
	v, err := u.run(h)
	if err != nil {
		return nil, fmt.Errorf("pickle offset %d: %w", u.op, err)
	}
	return v, nil
}

type unpickler struct {
	data    []byte
	pos     int
	op      int // offset of the current opcode
	stack   []any
	memo    map[uint64]any
	objects int // values pushed and memoized so far, bounded by maxObjects
}

// maxObjects bounds the values a pickle may create, and so the unpickler's
// memory (~100 bytes each at most): a state dict makes ~45 per tensor, so
// this allows ~90,000 tensors (SD 1.5's U-Net has 686).
const maxObjects = 4 << 20

func (u *unpickler) take(n uint64) ([]byte, error) {
	if n > uint64(len(u.data)-u.pos) {
		return nil, fmt.Errorf("truncated: needs %d more bytes, %d left", n, len(u.data)-u.pos)
	}
	b := u.data[u.pos : u.pos+int(n)]
	u.pos += int(n)
	return b, nil
}

func (u *unpickler) uint(n int) (uint64, error) {
	b, err := u.take(uint64(n))
	if err != nil {
		return 0, err
	}
	var x uint64
	for i := n - 1; i >= 0; i-- {
		x = x<<8 | uint64(b[i])
	}
	return x, nil
}

func (u *unpickler) line() (string, error) {
	i := bytes.IndexByte(u.data[u.pos:], '\n')
	if i < 0 {
		return "", fmt.Errorf("truncated: unterminated line")
	}
	s := string(u.data[u.pos : u.pos+i])
	u.pos += i + 1
	return s, nil
}

func (u *unpickler) push(v any) { u.stack = append(u.stack, v); u.objects++ }

func (u *unpickler) pop() (any, error) {
	if len(u.stack) == 0 {
		return nil, fmt.Errorf("stack underflow")
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	if _, ok := v.(markObj); ok {
		return nil, fmt.Errorf("unexpected MARK on the stack")
	}
	return v, nil
}

func (u *unpickler) top() (any, error) {
	if len(u.stack) == 0 {
		return nil, fmt.Errorf("stack underflow")
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark pops the values above the topmost MARK, and the MARK.
func (u *unpickler) popMark() ([]any, error) {
	for i := len(u.stack) - 1; i >= 0; i-- {
		if _, ok := u.stack[i].(markObj); ok {
			items := append([]any(nil), u.stack[i+1:]...)
			u.stack = u.stack[:i]
			return items, nil
		}
	}
	return nil, fmt.Errorf("no MARK on the stack")
}

// popN pops n values, returning them in stack order.
func (u *unpickler) popN(n int) ([]any, error) {
	out := make([]any, n)
	for i := n - 1; i >= 0; i-- {
		v, err := u.pop()
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func (u *unpickler) str(n uint64) error {
	b, err := u.take(n)
	if err == nil {
		u.push(string(b))
	}
	return err
}

func (u *unpickler) setItems(d any, kv []any) error {
	dict, ok := d.(*pyDict)
	if !ok {
		return fmt.Errorf("SETITEM on a %T", d)
	}
	if len(kv)%2 != 0 {
		return fmt.Errorf("odd number of items for a dict")
	}
	for i := 0; i < len(kv); i += 2 {
		if err := dict.set(kv[i], kv[i+1]); err != nil {
			return err
		}
	}
	return nil
}

func (u *unpickler) run(h pickleHooks) (any, error) {
	for {
		if u.pos >= len(u.data) {
			return nil, fmt.Errorf("truncated: no STOP opcode")
		}
		if u.objects > maxObjects {
			return nil, fmt.Errorf("more than %d values: too large for a state dict", maxObjects)
		}
		u.op = u.pos
		code := u.data[u.pos]
		u.pos++
		if err := u.step(code, h); err != nil {
			if errors.Is(err, errStop) {
				return u.pop()
			}
			return nil, err
		}
	}
}

var errStop = errors.New("STOP")

func (u *unpickler) step(code byte, h pickleHooks) error {
	switch code {
	case 0x80: // PROTO
		v, err := u.uint(1)
		if err == nil && (v < 2 || v > 5) {
			err = fmt.Errorf("pickle protocol %d (2 to 5 are read)", v)
		}
		return err
	case 0x95: // FRAME: a length prefix only
		_, err := u.uint(8)
		return err
	case '.':
		return errStop
	case '(':
		u.push(markObj{})
	case '}':
		u.push(newDict())
	case ']':
		u.push(&pyList{})
	case ')':
		u.push(pyTuple{})
	case 'N':
		u.push(nil)
	case 0x88:
		u.push(true)
	case 0x89:
		u.push(false)
	case 'K', 'M':
		n := 1
		if code == 'M' {
			n = 2
		}
		v, err := u.uint(n)
		u.push(int64(v))
		return err
	case 'J':
		v, err := u.uint(4)
		u.push(int64(int32(uint32(v))))
		return err
	case 0x8a, 0x8b: // LONG1, LONG4: little-endian two's complement
		n, err := u.uint(map[byte]int{0x8a: 1, 0x8b: 4}[code])
		if err != nil {
			return err
		}
		if n > 8 {
			return fmt.Errorf("integer of %d bytes is too large", n)
		}
		v, err := u.uint(int(n))
		if n > 0 && n < 8 && v>>(8*n-1) != 0 {
			v |= ^uint64(0) << (8 * n) // sign-extend
		}
		u.push(int64(v))
		return err
	case 'G':
		b, err := u.take(8)
		if err == nil {
			u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
		}
		return err
	case 'X', 0x8c, 0x8d: // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
		n, err := u.uint(map[byte]int{'X': 4, 0x8c: 1, 0x8d: 8}[code])
		if err != nil {
			return err
		}
		return u.str(n)
	case 'C', 'B', 0x8e: // SHORT_BINBYTES, BINBYTES, BINBYTES8
		n, err := u.uint(map[byte]int{'C': 1, 'B': 4, 0x8e: 8}[code])
		if err != nil {
			return err
		}
		b, err := u.take(n)
		u.push(append([]byte(nil), b...))
		return err
	case 'c', 0x93: // GLOBAL, STACK_GLOBAL
		var g pyGlobal
		if code == 'c' {
			var err error
			if g.module, err = u.line(); err != nil {
				return err
			}
			if g.name, err = u.line(); err != nil {
				return err
			}
		} else {
			vs, err := u.popN(2)
			if err != nil {
				return err
			}
			m, ok1 := vs[0].(string)
			n, ok2 := vs[1].(string)
			if !ok1 || !ok2 {
				return fmt.Errorf("STACK_GLOBAL of non-strings")
			}
			g = pyGlobal{m, n}
		}
		if err := h.global(g); err != nil {
			return err
		}
		u.push(g)
	case 'q', 'r', 0x94: // BINPUT, LONG_BINPUT, MEMOIZE
		idx := uint64(len(u.memo))
		if code != 0x94 {
			var err error
			if idx, err = u.uint(map[byte]int{'q': 1, 'r': 4}[code]); err != nil {
				return err
			}
		}
		v, err := u.top()
		if _, mark := v.(markObj); mark {
			return fmt.Errorf("memoizing a MARK")
		}
		u.memo[idx] = v
		u.objects++
		return err
	case 'h', 'j': // BINGET, LONG_BINGET
		idx, err := u.uint(map[byte]int{'h': 1, 'j': 4}[code])
		if err != nil {
			return err
		}
		v, ok := u.memo[idx]
		if !ok {
			return fmt.Errorf("memo key %d was never stored", idx)
		}
		u.push(v)
	case 't':
		items, err := u.popMark()
		u.push(pyTuple(items))
		return err
	case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
		items, err := u.popN(int(code - 0x84))
		u.push(pyTuple(items))
		return err
	case 'l':
		items, err := u.popMark()
		u.push(&pyList{items: items})
		return err
	case 'd':
		items, err := u.popMark()
		if err != nil {
			return err
		}
		d := newDict()
		u.push(d)
		return u.setItems(d, items)
	case 'a', 'e': // APPEND, APPENDS
		var items []any
		var err error
		if code == 'a' {
			items, err = u.popN(1)
		} else {
			items, err = u.popMark()
		}
		if err != nil {
			return err
		}
		v, err := u.top()
		l, ok := v.(*pyList)
		if err != nil || !ok {
			return fmt.Errorf("APPEND to a %T", v)
		}
		l.items = append(l.items, items...)
	case 's', 'u': // SETITEM, SETITEMS
		var kv []any
		var err error
		if code == 's' {
			kv, err = u.popN(2)
		} else {
			kv, err = u.popMark()
		}
		if err != nil {
			return err
		}
		d, err := u.top()
		if err != nil {
			return err
		}
		return u.setItems(d, kv)
	case 'R':
		vs, err := u.popN(2)
		if err != nil {
			return err
		}
		g, ok1 := vs[0].(pyGlobal)
		args, ok2 := vs[1].(pyTuple)
		if !ok1 || !ok2 {
			return fmt.Errorf("REDUCE of a %T with %T arguments", vs[0], vs[1])
		}
		v, err := h.call(g, args)
		u.push(v)
		return err
	case 'b':
		vs, err := u.popN(2)
		if err != nil {
			return err
		}
		v, err := h.build(vs[0], vs[1])
		u.push(v)
		return err
	case 'Q':
		pid, err := u.pop()
		if err != nil {
			return err
		}
		v, err := h.persistent(pid)
		u.push(v)
		return err
	case '0':
		_, err := u.pop()
		return err
	case '1':
		_, err := u.popMark()
		return err
	case '2':
		v, err := u.top()
		u.push(v)
		return err
	default:
		return fmt.Errorf("unsupported pickle opcode 0x%02x", code)
	}
	return nil
}
