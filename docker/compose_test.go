package docker_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestComposeNetworkSurvivesStopsAndPartitions builds the image, starts
// the Compose network (4 validators, 2 sources) under a project name of
// its own and on free host ports, waits for node0 to accept records,
// pushes a file from the host with the write token, stops node3's
// container and checks that records are still accepted by the remaining
// three; then partitions the network with 'docker network disconnect':
// one validator cut off (the others go on; healed, it converges to the same
// app hash) and a 2–2 split (no block, no record until it heals). It
// removes everything it created.
//
// It needs a reachable Docker engine and Docker Compose ('docker compose'
// or 'docker-compose'); without them, with -short, or with
// DATADRAGON_DOCKER_TEST=0 it is skipped.
func TestComposeNetworkSurvivesStopsAndPartitions(t *testing.T) {
	if testing.Short() {
		t.Skip("container test skipped with -short")
	}
	if os.Getenv("DATADRAGON_DOCKER_TEST") == "0" {
		t.Skip("container test skipped: DATADRAGON_DOCKER_TEST=0")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("container test skipped: no docker command on PATH")
	}
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Skipf("container test skipped: the Docker engine is not reachable: %v %s", err, strings.TrimSpace(string(out)))
	}
	composeCmd := findCompose()
	if composeCmd == nil {
		t.Skip("container test skipped: neither 'docker compose' nor 'docker-compose' is installed")
	}
	start := time.Now()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	id := strconv.FormatInt(time.Now().UnixNano(), 36)
	image := "datadragon-composetest:" + id
	project := "ddtest" + id
	token := "compose-test-token-" + id
	tokenSum := sha256.Sum256([]byte(token))
	env := append(os.Environ(),
		"DD_UPLOAD_TOKEN_SHA256="+hex.EncodeToString(tokenSum[:]),
		"COMPOSE_PROJECT_NAME="+project,
		"DD_IMAGE="+image,
		"DD_BIND=127.0.0.1",
	)
	// Host ports are chosen at the moment a service comes up, not at the
	// start: other test packages running beside this one open ephemeral
	// ports all the time, and a port picked minutes ahead may be taken.
	portVars := []string{"DD_NODE0_PORT", "DD_NODE1_PORT", "DD_NODE2_PORT", "DD_NODE3_PORT", "DD_SENSORS_PORT", "DD_TICKS_PORT", "DD_NODE4_PORT"}
	ports := make([]string, len(portVars))
	portEnv := func() []string {
		var e []string
		for i, v := range portVars {
			if ports[i] != "" {
				e = append(e, v+"="+ports[i])
			}
		}
		return e
	}
	run := func(ctx context.Context, extraEnv []string, name string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir = root
		cmd.Env = append(append(env[:len(env):len(env)], portEnv()...), extraEnv...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	compose := func(ctx context.Context, args ...string) (string, error) {
		full := append(append(composeCmd[1:], "-f", filepath.Join(root, "docker", "docker-compose.yml"), "-p", project), args...)
		return run(ctx, nil, composeCmd[0], full...)
	}

	// Build: the static binary, then the image (tagged for this run only).
	out, err := run(ctx, []string{"IMAGE=datadragon-composetest", "VERSION=" + id, "LATEST=0"}, "bash", "docker/build.sh")
	if err != nil {
		t.Fatalf("docker/build.sh: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if out, err := run(ctx, nil, "docker", "rmi", "-f", image); err != nil {
			t.Logf("docker rmi %s: %v\n%s", image, err, out)
		}
	})
	built := time.Since(start)

	// Up. Cleanup (registered first, so it runs last) removes containers,
	// network and volume whatever happens; on failure the logs come first.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if out, err := compose(ctx, "down", "-v", "--remove-orphans", "-t", "10"); err != nil {
			t.Errorf("compose down: %v\n%s", err, out)
		}
	})
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := compose(context.Background(), "logs", "--no-color", "--tail", "150")
			t.Logf("compose logs:\n%s", out)
		}
	})
	// upOnFreePorts picks fresh host ports for the services it starts and
	// tries again, a few times, when one was taken between the pick and
	// the bind; any other failure ends the test at once.
	upOnFreePorts := func(portIdx []int, args ...string) {
		t.Helper()
		for try := 1; ; try++ {
			for i, p := range freePorts(t, len(portIdx)) {
				ports[portIdx[i]] = p
			}
			out, err := compose(ctx, args...)
			if err == nil {
				return
			}
			if !strings.Contains(out, "address already in use") || try == 3 {
				t.Fatalf("compose %v (try %d): %v\n%s", args, try, err, out)
			}
			t.Logf("compose %v: a host port was taken before the bind, trying again on others", args)
		}
	}
	upOnFreePorts([]int{0, 1, 2, 3, 4, 5}, "up", "-d")
	api := "http://127.0.0.1:" + ports[0]

	first := waitAccepted(ctx, t, api, 3, 3*time.Minute)
	up := time.Since(start)

	// Push mode from the host: refused without the token, accepted with it.
	upload := func(auth string) int {
		req, _ := http.NewRequestWithContext(ctx, "POST", api+"/v1/push/uploads?upload=00112233445566778899aabbccddeeff&end=1", strings.NewReader("a file pushed into the containers"))
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := upload(""); code != http.StatusUnauthorized {
		t.Fatalf("a push from the host without a token: %d, want 401", code)
	}
	if code := upload(token); code != http.StatusOK {
		t.Fatalf("a push with the token: %d", code)
	}
	pushDeadline := time.Now().Add(2 * time.Minute)
	for {
		var rec struct {
			Status string `json:"status"`
		}
		if resp, err := http.Get(api + "/v1/records/uploads/0"); err == nil {
			json.NewDecoder(resp.Body).Decode(&rec)
			resp.Body.Close()
		}
		if rec.Status == "accepted" {
			break
		}
		if time.Now().After(pushDeadline) {
			t.Fatalf("the pushed file's chunk is %q after 2 minutes", rec.Status)
		}
		time.Sleep(500 * time.Millisecond)
	}

	if out, err := compose(ctx, "stop", "-t", "10", "node3"); err != nil {
		t.Fatalf("compose stop node3: %v\n%s", err, out)
	}
	stopped := accepted(t, api)
	after := waitAccepted(ctx, t, api, stopped+3, 2*time.Minute)
	t.Logf("image built in %v; 3 records accepted %v after start (%d at first look); node3 stopped at %d accepted, %d accepted since",
		built.Round(time.Second), up.Round(time.Second), first, stopped, after-stopped)

	// Partitions: cut validators off the network with Docker and heal.
	if out, err := compose(ctx, "start", "node3"); err != nil {
		t.Fatalf("compose start node3: %v\n%s", err, out)
	}
	apis := []string{api, "http://127.0.0.1:" + ports[1], "http://127.0.0.1:" + ports[2], "http://127.0.0.1:" + ports[3]}
	waitConverged(ctx, t, apis, time.Minute)
	netName := project + "_datadragon"
	container := func(svc string) string {
		out, err := compose(ctx, "ps", "-q", svc)
		if err != nil || strings.TrimSpace(out) == "" {
			t.Fatalf("compose ps -q %s: %v\n%s", svc, err, out)
		}
		return strings.TrimSpace(out)
	}
	cut := func(svcs ...string) {
		for _, svc := range svcs {
			if out, err := run(ctx, nil, "docker", "network", "disconnect", netName, container(svc)); err != nil {
				t.Fatalf("disconnecting %s: %v\n%s", svc, err, out)
			}
		}
	}
	heal := func(svcs ...string) {
		for _, svc := range svcs {
			if out, err := run(ctx, nil, "docker", "network", "connect", "--alias", svc, netName, container(svc)); err != nil {
				t.Fatalf("reconnecting %s: %v\n%s", svc, err, out)
			}
		}
	}
	// One validator cut off: the other three go on; healed, it catches up
	// to the same app hash.
	cut("node3")
	before := accepted(t, api)
	waitAccepted(ctx, t, api, before+3, 2*time.Minute)
	heal("node3")
	// A cut leaves the TCP connections to node3 open and silent on both
	// sides: CometBFT drops them only when a ping goes unanswered (its
	// pong timeout, 45 s, after a ping every 60 s) or TCP's retransmits,
	// backed off through the cut, get through — then it redials. So the
	// healed validator may wait up to two minutes before it syncs.
	waitConverged(ctx, t, apis, 4*time.Minute)

	// A 2–2 split: no side holds more than 2/3 of the power, so no block
	// and no record until it heals.
	cut("node2", "node3")
	time.Sleep(3 * time.Second) // blocks in flight finish
	h1, n1 := height(t, api), accepted(t, api)
	time.Sleep(6 * time.Second)
	h2, n2 := height(t, api), accepted(t, api)
	if h2 > h1+1 || n2 != n1 {
		t.Fatalf("during a 2–2 split node0 went from height %d to %d and from %d to %d records: a minority made progress", h1, h2, n1, n2)
	}
	heal("node2", "node3")
	waitAccepted(ctx, t, api, n2+3, 2*time.Minute)
	waitConverged(ctx, t, apis, 2*time.Minute)
	t.Logf("partitions: one validator cut off and healed, a 2–2 split stalled at height %d and resumed after healing, all four converged",
		h2)

	// Crashes: SIGKILL a validator at a random moment, restart it, and
	// check that nobody's records changed and all converge again.
	// DD_COMPOSE_KILLS=N kills N times (default 3, what CI runs).
	kills := 3
	if v, err := strconv.Atoi(os.Getenv("DD_COMPOSE_KILLS")); err == nil && v > 0 {
		kills = v
	}
	snapshot := records(t, api, "sensors")
	for i := range kills {
		svc := fmt.Sprintf("node%d", 1+i%3)
		if out, err := run(ctx, nil, "docker", "kill", "--signal", "KILL", container(svc)); err != nil {
			t.Fatalf("docker kill %s: %v\n%s", svc, err, out)
		}
		time.Sleep(time.Duration(500+time.Now().UnixNano()%1500) * time.Millisecond)
		if out, err := compose(ctx, "start", svc); err != nil {
			t.Fatalf("compose start %s: %v\n%s", svc, err, out)
		}
		waitConverged(ctx, t, apis, 2*time.Minute)
	}
	for _, a := range apis {
		got := records(t, a, "sensors")
		for idx, want := range snapshot {
			if got[idx] != want {
				t.Fatalf("%s: record sensors/%d is %q after the crashes, was %q", a, idx, got[idx], want)
			}
		}
	}
	t.Logf("crashes: %d SIGKILLs of validators, each restarted; %d records unchanged on all four, converged; total %v",
		kills, len(snapshot), time.Since(start).Round(time.Second))

	// A fifth validator container: joined from nothing, added by the
	// validators with 'datadragon validators' run in their containers.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if out, err := compose(ctx, "--profile", "grow", "down", "-v", "--remove-orphans", "-t", "10"); err != nil {
			t.Errorf("compose down (grow): %v\n%s", err, out)
		}
	})
	upOnFreePorts([]int{6}, "--profile", "grow", "up", "-d", "node4")
	api4 := "http://127.0.0.1:" + ports[6]
	waitConverged(ctx, t, append(apis, api4), 3*time.Minute)
	dd := func(svc string, args ...string) string {
		out, err := compose(ctx, append([]string{"exec", "-T", svc, "/usr/local/bin/datadragon", "validators"}, args...)...)
		if err != nil {
			t.Fatalf("datadragon validators %v in %s: %v\n%s", args, svc, err, out)
		}
		return out
	}
	res := dd("node0", "propose", "--home=/net/node0", "--add=/net/node4", "--power=10", "--node=http://127.0.0.1:8080")
	i := strings.Index(res, "proposal ")
	if i < 0 || len(res) < i+9+64 {
		t.Fatalf("propose printed %q", res)
	}
	pid := res[i+9 : i+9+64]
	time.Sleep(3 * time.Second)
	dd("node1", "approve", "--home=/net/node1", "--id="+pid, "--node=http://127.0.0.1:8081")
	time.Sleep(3 * time.Second)
	dd("node2", "approve", "--home=/net/node2", "--id="+pid, "--node=http://127.0.0.1:8082")
	var addr4 string
	growDeadline := time.Now().Add(2 * time.Minute)
	for {
		var g struct {
			Validators []struct {
				Address string `json:"address"`
				Power   int64  `json:"power"`
			} `json:"validators"`
		}
		if resp, err := http.Get(api + "/v1/governance"); err == nil {
			json.NewDecoder(resp.Body).Decode(&g)
			resp.Body.Close()
		}
		if len(g.Validators) == 5 && g.Validators[4].Power == 10 {
			addr4 = g.Validators[4].Address
			break
		}
		if time.Now().After(growDeadline) {
			t.Fatalf("node4 is not a validator 2 minutes after the approvals: %+v", g)
		}
		time.Sleep(time.Second)
	}
	// It attests: a record accepted under the 5-validator set with its
	// attestation agreeing.
	attestDeadline := time.Now().Add(2 * time.Minute)
	for {
		var st struct {
			LastIndex *uint64 `json:"last_index"`
		}
		var rec struct {
			TotalPower   int64 `json:"total_power"`
			Attestations []struct {
				Validator string `json:"validator"`
				Outcome   string `json:"outcome"`
			} `json:"attestations"`
		}
		ok := false
		if resp, err := http.Get(api + "/v1/streams/sensors"); err == nil {
			json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
		}
		if st.LastIndex != nil {
			if resp, err := http.Get(fmt.Sprintf("%s/v1/records/sensors/%d", api, *st.LastIndex)); err == nil {
				json.NewDecoder(resp.Body).Decode(&rec)
				resp.Body.Close()
			}
			for _, a := range rec.Attestations {
				ok = ok || rec.TotalPower == 50 && strings.EqualFold(a.Validator, addr4) && a.Outcome == "agreed"
			}
		}
		if ok {
			break
		}
		if time.Now().After(attestDeadline) {
			t.Fatalf("no record accepted with node4's attestation 2 minutes after it was added")
		}
		time.Sleep(time.Second)
	}
	t.Logf("a fifth validator container joined from nothing, was added by 'datadragon validators' and attests; total %v", time.Since(start).Round(time.Second))
}

// records returns a node's first page of decided records of a stream as
// index → "digest@height".
func records(t *testing.T, api, stream string) map[uint64]string {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(api + "/v1/streams/" + stream + "/records?limit=1000")
	if err != nil {
		t.Fatalf("GET records from %s: %v", api, err)
	}
	defer resp.Body.Close()
	var page struct {
		Records []struct {
			Index  uint64 `json:"index"`
			Digest string `json:"digest"`
			Height int64  `json:"height"`
		} `json:"records"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatalf("records from %s: %v", api, err)
	}
	out := map[uint64]string{}
	for _, r := range page.Records {
		out[r.Index] = fmt.Sprintf("%s@%d", r.Digest, r.Height)
	}
	return out
}

// height returns a node's committed height (-1 while its API does not
// answer).
func height(t *testing.T, api string) int64 {
	t.Helper()
	var st struct {
		Height int64 `json:"height"`
	}
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(api + "/v1/status")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	if json.NewDecoder(resp.Body).Decode(&st) != nil {
		return -1
	}
	return st.Height
}

// waitConverged waits until every node has passed node0's current height
// and they all report the same app hash for the block at that height.
func waitConverged(ctx context.Context, t *testing.T, apis []string, limit time.Duration) {
	t.Helper()
	target := height(t, apis[0])
	deadline := time.Now().Add(limit)
	for {
		same, want := true, ""
		for _, a := range apis {
			if height(t, a) < target+1 {
				same = false
				break
			}
			var b struct {
				AppHash string `json:"app_hash"`
			}
			c := http.Client{Timeout: 3 * time.Second}
			resp, err := c.Get(fmt.Sprintf("%s/v1/blocks/%d", a, target))
			if err != nil {
				same = false
				break
			}
			json.NewDecoder(resp.Body).Decode(&b)
			resp.Body.Close()
			if want == "" {
				want = b.AppHash
			}
			if b.AppHash == "" || b.AppHash != want {
				if b.AppHash != "" {
					t.Fatalf("app hash of block %d differs between nodes: %s vs %s", target, want, b.AppHash)
				}
				same = false
				break
			}
		}
		if same {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			var hs []string
			for _, a := range apis {
				hs = append(hs, fmt.Sprintf("%s at %d", a, height(t, a)))
			}
			t.Fatalf("the nodes did not converge past height %d within %v: %s", target, limit, strings.Join(hs, ", "))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// findCompose returns the Docker Compose command available: the plugin
// ("docker compose") or the standalone "docker-compose"; nil if neither.
func findCompose() []string {
	if exec.Command("docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}
	}
	if p, err := exec.LookPath("docker-compose"); err == nil && exec.Command(p, "version").Run() == nil {
		return []string{p}
	}
	return nil
}

// freePorts returns n distinct TCP ports free on loopback right now.
func freePorts(t *testing.T, n int) []string {
	var ports []string
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// accepted returns the records node0 has accepted over all streams, or -1
// while its API does not answer.
func accepted(t *testing.T, api string) int {
	t.Helper()
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(api + "/v1/streams")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return -1
	}
	var body struct {
		Streams []struct {
			ID       string `json:"id"`
			Accepted int    `json:"accepted"`
		} `json:"streams"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET %s/v1/streams: %v", api, err)
	}
	if len(body.Streams) != 3 {
		t.Fatalf("node0 lists %d streams, want 3 (sensors, ticks, uploads)", len(body.Streams))
	}
	n := 0
	for _, s := range body.Streams {
		if s.ID != "uploads" { // observed records only: they keep coming
			n += s.Accepted
		}
	}
	return n
}

// waitAccepted polls node0 until it has accepted at least want records.
func waitAccepted(ctx context.Context, t *testing.T, api string, want int, limit time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(limit)
	last := -1
	for {
		if last = accepted(t, api); last >= want {
			return last
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("node0 (%s) accepted %d records within %v, want at least %d", api, last, limit, want)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
