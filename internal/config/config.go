// Package config holds the JSON value shapes that diffusers and transformers configs share (an int or a per-block list, a bool or a list) and a strict-where-it-matters decoder.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// IntOrList is a config value given either as one int (for every block) or as
// a list with one entry per block. Null leaves it unset.
type IntOrList struct {
	Set  bool
	List []int // one entry when the JSON held a plain int
	one  bool
}

// UnmarshalJSON accepts an int, a list of ints, or null.
func (v *IntOrList) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*v = IntOrList{}
		return nil
	}
	var n int
	if err := json.Unmarshal(b, &n); err == nil {
		*v = IntOrList{Set: true, List: []int{n}, one: true}
		return nil
	}
	var l []int
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("want an integer or a list of integers, got %s", b)
	}
	*v = IntOrList{Set: true, List: l}
	return nil
}

// Int returns a single value.
func Int(n int) IntOrList { return IntOrList{Set: true, List: []int{n}, one: true} }

// PerBlock expands the value to n blocks; a list must have exactly n entries.
func (v IntOrList) PerBlock(n int, field string) ([]int, error) {
	if v.one {
		out := make([]int, n)
		for i := range out {
			out[i] = v.List[0]
		}
		return out, nil
	}
	if len(v.List) != n {
		return nil, fmt.Errorf("%s has %d entries, the model has %d blocks", field, len(v.List), n)
	}
	return append([]int(nil), v.List...), nil
}

// Size is a sample size: one int for a square, or, as diffusers 0.32 and
// later accept, a [height, width] pair.
type Size struct{ H, W int }

// Square is the size n×n.
func Square(n int) Size { return Size{n, n} }

// UnmarshalJSON accepts an int or a list of two ints.
func (s *Size) UnmarshalJSON(b []byte) error {
	var n int
	if err := json.Unmarshal(b, &n); err == nil {
		*s = Square(n)
		return nil
	}
	var l []int
	if err := json.Unmarshal(b, &l); err != nil || len(l) != 2 {
		return fmt.Errorf("want an integer or a [height, width] pair, got %s", b)
	}
	*s = Size{l[0], l[1]}
	return nil
}

// String is the size as the config gives it: "n", or "[h, w]".
func (s Size) String() string {
	if s.H == s.W {
		return fmt.Sprint(s.H)
	}
	return fmt.Sprintf("[%d, %d]", s.H, s.W)
}

// BoolOrList is a bool for every block or a list with one per block.
type BoolOrList struct {
	List []bool
	one  bool
}

// UnmarshalJSON accepts a bool, a list of bools, or null (false).
func (v *BoolOrList) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*v = BoolOrList{List: []bool{false}, one: true}
		return nil
	}
	var x bool
	if err := json.Unmarshal(b, &x); err == nil {
		*v = BoolOrList{List: []bool{x}, one: true}
		return nil
	}
	var l []bool
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("want a boolean or a list of booleans, got %s", b)
	}
	*v = BoolOrList{List: l}
	return nil
}

// PerBlock expands the value to n blocks.
func (v BoolOrList) PerBlock(n int, field string) ([]bool, error) {
	if len(v.List) == 0 {
		return make([]bool, n), nil
	}
	if v.one {
		out := make([]bool, n)
		for i := range out {
			out[i] = v.List[0]
		}
		return out, nil
	}
	if len(v.List) != n {
		return nil, fmt.Errorf("%s has %d entries, the model has %d blocks", field, len(v.List), n)
	}
	return append([]bool(nil), v.List...), nil
}

// Decode unmarshals a config file into v, which holds the defaults of every
// field beforehand: keys the file lacks keep them, unknown keys are ignored
// (diffusers writes many that do not change inference). Errors name the file
// and, for a type mismatch, the field.
func Decode(file string, data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			return fmt.Errorf("%s: field %q: %s is not a valid %s", file, te.Field, te.Value, te.Type)
		case errors.As(err, &se):
			return fmt.Errorf("%s: malformed JSON at byte %d: %v", file, se.Offset, err)
		default:
			return fmt.Errorf("%s: %s", file, culprit(data, v, err))
		}
	}
	return nil
}

// culprit finds the key whose value a custom unmarshaller rejected by
// decoding the keys one at a time into a scratch copy of v.
func culprit(data []byte, v any, err error) string {
	var raw map[string]json.RawMessage
	if json.Unmarshal(data, &raw) != nil {
		return err.Error()
	}
	for k, val := range raw {
		one, _ := json.Marshal(map[string]json.RawMessage{k: val})
		scratch := reflect.New(reflect.TypeOf(v).Elem()).Interface()
		if e := json.Unmarshal(one, scratch); e != nil {
			return fmt.Sprintf("field %q: %v", k, e)
		}
	}
	return err.Error()
}
