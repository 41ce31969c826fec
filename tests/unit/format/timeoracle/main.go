// Oracle for skiff.format.humanize.parse_timestamp_ns: answers with the Docker API's
// timetypes.GetTimestamp, the function Docker's CLI and daemon use for --since, --until
// and until= filters. One JSON request per line on stdin: {"s": value, "now": unix ns}
// → {"out": "seconds[.nanoseconds]", "err": message}.
package main

import (
	"bufio"
	"encoding/json"
	"os"
	"time"

	timetypes "github.com/docker/docker/api/types/time"
)

type request struct {
	S   string `json:"s"`
	Now int64  `json:"now"`
}

type response struct {
	Out string `json:"out"`
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
		v, err := timetypes.GetTimestamp(r.S, time.Unix(0, r.Now))
		resp.Out = v
		if err != nil {
			resp.Err = err.Error()
		}
		if err := out.Encode(resp); err != nil {
			panic(err)
		}
	}
}
