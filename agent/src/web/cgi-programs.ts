// The two CGI programs of the web benchmark, as /bin/sh scripts that the agent writes into
// its site folder at start. Shell and awk are in every Linux guest, start in about a
// millisecond (so the benchmark measures process creation, not a runtime's start-up), and
// the same files serve Apache mod_cgi and nginx + fcgiwrap (deploy/web/).

/** /cgi-bin/env: a small dynamic page, the environment the server gave the program. */
export const ENV_SCRIPT = `#!/bin/sh
# guestbench /cgi-bin/env: prints the environment its web server started it with
# (the CGI/1.1 meta-variables of RFC 3875), one NAME=value per line.
printf 'Content-Type: text/plain\\n\\n'
exec env
`;

// No single quote may appear in this program: the script passes it to awk in single quotes.
const MAZE_AWK = String.raw`
function fail(message) {
  printf "Status: 400 Bad Request\nContent-Type: text/plain\n\n%s\n", message
  exit 0
}
BEGIN {
  size = 32; seed = 1
  query = ENVIRON["QUERY_STRING"]
  n = split(query, parts, "&")
  for (i = 1; i <= n; i++) {
    if (parts[i] == "") continue
    eq = index(parts[i], "=")
    key = eq ? substr(parts[i], 1, eq - 1) : parts[i]
    value = eq ? substr(parts[i], eq + 1) : ""
    if (key == "size") {
      if (value !~ /^[0-9]+$/ || length(value) > 3 || value + 0 < 2 || value + 0 > 400) fail("size must be a whole number from 2 to 400")
      size = value + 0
    } else if (key == "seed") {
      if (value !~ /^[0-9]+$/ || length(value) > 9) fail("seed must be a whole number from 0 to 999999999")
      seed = value + 0
    } else fail("unknown parameter " key "; known: size, seed")
  }
  # Park-Miller minimal standard generator: exact in the doubles every awk computes with,
  # so mawk, gawk and busybox awk draw the same numbers and the page is the same everywhere.
  state = seed % 2147483646 + 1
  cells = size * size
  # Depth-first search with an explicit stack: a perfect maze (one path between any two cells).
  visited[0] = 1; stack[0] = 0; top = 1
  while (top > 0) {
    c = stack[top - 1]; x = c % size
    m = 0
    if (c >= size && !((c - size) in visited)) next_cell[m++] = c - size
    if (x < size - 1 && !((c + 1) in visited)) next_cell[m++] = c + 1
    if (c + size < cells && !((c + size) in visited)) next_cell[m++] = c + size
    if (x > 0 && !((c - 1) in visited)) next_cell[m++] = c - 1
    if (m == 0) { top--; continue }
    state = (state * 16807) % 2147483647
    to = next_cell[state % m]
    if (to == c + 1) open_right[c] = 1
    else if (to == c - 1) open_right[to] = 1
    else if (to == c + size) open_bottom[c] = 1
    else open_bottom[to] = 1
    visited[to] = 1; stack[top++] = to
  }
  printf "Content-Type: text/html; charset=utf-8\n\n"
  printf "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>maze %d, seed %d</title>\n", size, seed
  print "<style>table{border-collapse:collapse;border-top:2px solid;border-left:2px solid}td{width:8px;height:8px;padding:0}.r{border-right:2px solid}.b{border-bottom:2px solid}.rb{border-right:2px solid;border-bottom:2px solid}</style>"
  print "</head><body>"
  printf "<table class=\"maze\" data-size=\"%d\" data-seed=\"%d\">\n", size, seed
  # The class of a cell names the walls still standing on its right (r) and bottom (b).
  for (y = 0; y < size; y++) {
    row = "<tr>"
    for (x = 0; x < size; x++) {
      c = y * size + x
      cls = ((c in open_right) ? "" : "r") ((c in open_bottom) ? "" : "b")
      row = row (cls == "" ? "<td></td>" : "<td class=" cls "></td>")
    }
    print row "</tr>"
  }
  print "</table>\n</body></html>"
}`;

if (MAZE_AWK.includes("'")) throw new Error('the maze program must not contain a single quote');

/** /cgi-bin/maze?size=N&seed=S: a large dynamic page, the same bytes for the same query. */
export const MAZE_SCRIPT = `#!/bin/sh
# guestbench /cgi-bin/maze?size=N&seed=S: a perfect N×N maze as an HTML table (N from 2
# to 400, default 32; S from 0 to 999999999, default 1). The same query gives the same page.
exec awk '${MAZE_AWK}' </dev/null
`;

/** The CGI programs by name, as written to the site's cgi-bin folder. */
export const CGI_PROGRAMS: Readonly<Record<string, string>> = { env: ENV_SCRIPT, maze: MAZE_SCRIPT };
