// Oracle for skiff.format.humanize: answers with github.com/docker/go-units, the package
// Docker's CLI uses for sizes and durations. One JSON request per line on stdin:
// {"op": "size"|"size4"|"bytes"|"duration"|"ram"|"fromhuman", "n": number, "s": string}
// → {"out": text, "n": int, "err": message}.
package main

import (
	"bufio"
	"encoding/json"
	"os"
	"time"

	units "github.com/docker/go-units"
)

type request struct {
	Op string  `json:"op"`
	N  float64 `json:"n"`
	S  string  `json:"s"`
}

type response struct {
	Out string `json:"out"`
	N   int64  `json:"n"`
	Err string `json:"err"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var r request
		if err := json.Unmarshal(in.Bytes(), &r); err != nil {
			panic(err)
		}
		var resp response
		var err error
		switch r.Op {
		case "size":
			resp.Out = units.HumanSizeWithPrecision(r.N, 3)
		case "size4":
			resp.Out = units.HumanSize(r.N)
		case "bytes":
			resp.Out = units.BytesSize(r.N)
		case "duration":
			resp.Out = units.HumanDuration(time.Duration(r.N * float64(time.Second)))
		case "ram":
			resp.N, err = units.RAMInBytes(r.S)
		case "fromhuman":
			resp.N, err = units.FromHumanSize(r.S)
		}
		if err != nil {
			resp.Err = err.Error()
		}
		_ = out.Encode(resp)
	}
}
