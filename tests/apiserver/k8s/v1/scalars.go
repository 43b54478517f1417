// SPDX-License-Identifier: Apache-2.0
//
// IntOrString and Quantity, the two scalar types of the pod template whose
// JSON form is not one Go kind: they decode and encode as
// k8s.io/apimachinery's intstr.IntOrString and resource.Quantity do. Quantity
// keeps the value as an exact rational and writes it back in the canonical
// form (largest suffix that keeps an integer mantissa: "1500m", "2k", "1Gi").
package v1

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strings"
)

// IntOrString is intstr.IntOrString.
type IntOrString struct {
	IsString bool
	IntVal   int32
	StrVal   string
}

// UnmarshalJSON mirrors intstr.IntOrString.UnmarshalJSON.
func (v *IntOrString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		v.IsString = true
		return json.Unmarshal(b, &v.StrVal)
	}
	v.IsString = false
	return json.Unmarshal(b, &v.IntVal)
}

// MarshalJSON writes the number or the string.
func (v IntOrString) MarshalJSON() ([]byte, error) {
	if v.IsString {
		return json.Marshal(v.StrVal)
	}
	return json.Marshal(v.IntVal)
}

// ErrFormatWrong is resource.ErrFormatWrong's message.
var ErrFormatWrong = errors.New("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")

// Format is the suffix family of a Quantity.
type Format int

const (
	DecimalSI Format = iota
	BinarySI
	DecimalExponent
)

// Quantity is resource.Quantity: an exact value and the suffix family it was
// written in. The zero Quantity is 0 and encodes as "0".
type Quantity struct {
	Value  *big.Rat
	Format Format
}

var quantityRE = regexp.MustCompile(`^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$`)

var decimalSuffix = map[string]int{"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
var binarySuffix = map[string]int{"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}

// ParseQuantity mirrors resource.ParseQuantity for the forms it accepts.
func ParseQuantity(s string) (Quantity, error) {
	m := quantityRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil || s != strings.TrimSpace(s) {
		return Quantity{}, ErrFormatWrong
	}
	num, suf := m[1], m[2]
	if strings.Count(num, ".") > 1 || strings.Trim(num, "+-.") == "" {
		return Quantity{}, ErrFormatWrong
	}
	n, ok := new(big.Rat).SetString(strings.TrimPrefix(num, "+"))
	if !ok {
		return Quantity{}, ErrFormatWrong
	}
	q := Quantity{Value: n}
	if e, ok := decimalSuffix[suf]; ok {
		q.Value.Mul(q.Value, pow(10, e))
		return q, nil
	}
	if e, ok := binarySuffix[suf]; ok {
		q.Value.Mul(q.Value, pow(2, e))
		q.Format = BinarySI
		return q, nil
	}
	if len(suf) > 1 && (suf[0] == 'e' || suf[0] == 'E') {
		var e int
		if _, err := fmt.Sscanf(suf[1:], "%d", &e); err == nil && e > -1000 && e < 1000 {
			q.Value.Mul(q.Value, pow(10, e))
			q.Format = DecimalExponent
			return q, nil
		}
	}
	return Quantity{}, errors.New("unable to parse quantity's suffix")
}

func pow(base int64, e int) *big.Rat {
	p := new(big.Int).Exp(big.NewInt(base), big.NewInt(int64(abs(e))), nil)
	if e < 0 {
		return new(big.Rat).SetFrac(big.NewInt(1), p)
	}
	return new(big.Rat).SetInt(p)
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// RoundUp rounds the value up (away from zero) to a multiple of 10^scale, as
// resource.Quantity.RoundUp does (SetDefaults_ResourceList uses scale -3).
func (q *Quantity) RoundUp(scale int) {
	if q.Value == nil {
		return
	}
	unit := pow(10, scale)
	n := new(big.Rat).Quo(q.Value, unit)
	if n.IsInt() {
		return
	}
	i := new(big.Int).Quo(n.Num(), n.Denom())
	if n.Sign() > 0 {
		i.Add(i, big.NewInt(1))
	} else {
		i.Sub(i, big.NewInt(1))
	}
	q.Value = new(big.Rat).Mul(new(big.Rat).SetInt(i), unit)
}

// String is the canonical form (resource.Quantity.String).
func (q Quantity) String() string {
	v := q.Value
	if v == nil || v.Sign() == 0 {
		return "0"
	}
	if q.Format == BinarySI && v.IsInt() && new(big.Int).Abs(v.Num()).Cmp(big.NewInt(1024)) >= 0 {
		for _, s := range []string{"Ei", "Pi", "Ti", "Gi", "Mi", "Ki"} {
			m := new(big.Rat).Quo(v, pow(2, binarySuffix[s]))
			if m.IsInt() {
				return m.Num().String() + s
			}
		}
		return v.Num().String()
	}
	// Decimal: nano precision at most, then the largest multiple-of-3
	// exponent that leaves an integer mantissa.
	c := q
	c.RoundUp(-9)
	v = c.Value
	for e := 18; e >= -9; e -= 3 {
		m := new(big.Rat).Quo(v, pow(10, e))
		if !m.IsInt() {
			continue
		}
		if q.Format == DecimalExponent {
			if e == 0 {
				return m.Num().String()
			}
			return fmt.Sprintf("%se%d", m.Num().String(), e)
		}
		for s, se := range decimalSuffix {
			if se == e {
				return m.Num().String() + s
			}
		}
	}
	return v.FloatString(9)
}

// UnmarshalJSON mirrors resource.Quantity.UnmarshalJSON: a string or a bare
// number; null is zero.
func (q *Quantity) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*q = Quantity{}
		return nil
	}
	s := string(b)
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	parsed, err := ParseQuantity(strings.TrimSpace(s))
	if err != nil {
		return err
	}
	*q = parsed
	return nil
}

// MarshalJSON writes the canonical string.
func (q Quantity) MarshalJSON() ([]byte, error) {
	return json.Marshal(q.String())
}

// Cmp compares two quantities by value.
func (q Quantity) Cmp(o Quantity) int {
	a, b := q.Value, o.Value
	if a == nil {
		a = new(big.Rat)
	}
	if b == nil {
		b = new(big.Rat)
	}
	return a.Cmp(b)
}
