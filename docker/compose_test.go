package docker_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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

// TestComposeNetworkSurvivesAStoppedValidator builds the image, starts the
// Compose network (4 validators, 2 sources) under a project name of its
// own and on free host ports, waits for node0 to accept records, stops
// node3's container and checks that records are still accepted by the
// remaining three, then removes everything it created.
//
// It needs a reachable Docker engine and Docker Compose ('docker compose'
// or 'docker-compose'); without them, with -short, or with
// DATADRAGON_DOCKER_TEST=0 it is skipped.
func TestComposeNetworkSurvivesAStoppedValidator(t *testing.T) {
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
	ports := freePorts(t, 6)
	token := "compose-test-token-" + id
	tokenSum := sha256.Sum256([]byte(token))
	env := append(os.Environ(),
		"DD_UPLOAD_TOKEN_SHA256="+hex.EncodeToString(tokenSum[:]),
		"COMPOSE_PROJECT_NAME="+project,
		"DD_IMAGE="+image,
		"DD_BIND=127.0.0.1",
		"DD_NODE0_PORT="+ports[0], "DD_NODE1_PORT="+ports[1], "DD_NODE2_PORT="+ports[2], "DD_NODE3_PORT="+ports[3],
		"DD_SENSORS_PORT="+ports[4], "DD_TICKS_PORT="+ports[5],
	)
	run := func(ctx context.Context, extraEnv []string, name string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir = root
		cmd.Env = append(env[:len(env):len(env)], extraEnv...)
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
			out, _ := compose(context.Background(), "logs", "--no-color", "--tail", "40")
			t.Logf("compose logs:\n%s", out)
		}
	})
	if out, err := compose(ctx, "up", "-d"); err != nil {
		t.Fatalf("compose up: %v\n%s", err, out)
	}
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
	t.Logf("image built in %v; 3 records accepted %v after start (%d at first look); node3 stopped at %d accepted, %d accepted since; total %v",
		built.Round(time.Second), up.Round(time.Second), first, stopped, after-stopped, time.Since(start).Round(time.Second))
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
