#!/usr/bin/env bash
# va-up.sh - virtual speaker + virtual microphone for headless CI (PulseAudio 16, no systemd/dbus, root OK).
# Idempotent: re-running while the daemon is up only re-checks it.  Afterwards:  source "$VA_DIR/env"
#   speaker : PA sink   "vspeaker" (s16le mono 24 kHz)  = default sink;  record it from "vspeaker.monitor"
#   mic     : PA source "vmic"     (s16le mono 16 kHz)  = default source; feed it by playing into sink "vmic_in"
#   ALSA/PortAudio names (via $VA_DIR/asound.conf): default, pulse, vmic_feed (play->mic), vspeaker_monitor (rec)
set -euo pipefail
VA_DIR=${VA_DIR:-/tmp/va}
MIC_RATE=${MIC_RATE:-16000}
SPK_RATE=${SPK_RATE:-24000}
PIN_MS=${PIN_MS:-30}     # loopback latency that keeps the null sinks ticking every PIN_MS/3 ms (see notes)

# ---- 1. packages (only when something is missing) -------------------------------------------------
PKGS=(pulseaudio pulseaudio-utils libasound2-plugins libportaudio2 espeak-ng tmux)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "va-up: installing ${missing[*]} (apt)" >&2
  $sudo apt-get -o DPkg::Lock::Timeout=300 update -qq
  $sudo apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---- 2. config files (rewritten every time; cheap) ------------------------------------------------
mkdir -p -m 700 "$VA_DIR" "$VA_DIR/run" "$VA_DIR/state"
cat > "$VA_DIR/virtual.pa" <<EOF
.fail
load-module module-native-protocol-unix auth-anonymous=1 socket=$VA_DIR/pulse.sock
load-module module-null-sink sink_name=vspeaker rate=$SPK_RATE channels=1 format=s16le norewinds=1 sink_properties=device.description=VirtualSpeaker
load-module module-null-sink sink_name=vmic_in  rate=$MIC_RATE channels=1 format=s16le norewinds=1 sink_properties=device.description=VirtualMicFeed
load-module module-remap-source source_name=vmic master=vmic_in.monitor rate=$MIC_RATE channels=1 format=s16le source_properties=device.description=VirtualMic
load-module module-null-sink sink_name=vpin rate=$MIC_RATE channels=1 format=s16le sink_properties=device.description=LatencyPin
load-module module-loopback source=vmic_in.monitor  sink=vpin latency_msec=$PIN_MS source_dont_move=1 sink_dont_move=1
load-module module-loopback source=vspeaker.monitor sink=vpin latency_msec=$PIN_MS source_dont_move=1 sink_dont_move=1
suspend-sink vspeaker 1
suspend-sink vspeaker 0
suspend-sink vmic_in 1
suspend-sink vmic_in 0
suspend-sink vpin 1
suspend-sink vpin 0
set-default-sink vspeaker
set-default-source vmic
EOF
cat > "$VA_DIR/asound.conf" <<'EOF'
pcm.vmic_feed        { type pulse; device "vmic_in";          hint { show on; description "plays INTO the virtual mic" } }
pcm.vspeaker_monitor { type pulse; device "vspeaker.monitor"; hint { show on; description "records the virtual speaker" } }
EOF
cat > "$VA_DIR/client.conf" <<EOF
default-server = unix:$VA_DIR/pulse.sock
autospawn = no
EOF
cat > "$VA_DIR/env" <<EOF
export PULSE_SERVER=unix:$VA_DIR/pulse.sock
export PULSE_RUNTIME_PATH=$VA_DIR/run
export PULSE_STATE_PATH=$VA_DIR/state
export PULSE_CLIENTCONFIG=$VA_DIR/client.conf
export ALSA_CONFIG_PATH=/usr/share/alsa/alsa.conf:$VA_DIR/asound.conf
EOF
# shellcheck disable=SC1091
source "$VA_DIR/env"

# ---- 3. start the daemon unless ours is already answering -----------------------------------------
if pactl info >/dev/null 2>&1; then
  echo "va-up: already running (pid $(cat "$VA_DIR/run/pid" 2>/dev/null || echo '?'))" >&2
else
  # stale state from a killed daemon: socket, and a pid file whose pid is gone, a zombie (a PID 1 that
  # reaps slowly keeps it "alive" for kill -0 and pulseaudio then refuses to start) or not ours
  rm -f "$VA_DIR/pulse.sock"
  if [ -s "$VA_DIR/run/pid" ]; then
    old=$(cat "$VA_DIR/run/pid")
    if [ "$(awk '{print $3}' "/proc/$old/stat" 2>/dev/null)" != "Z" ] &&
       tr '\0' ' ' < "/proc/$old/cmdline" 2>/dev/null | grep -q -- "-F $VA_DIR/virtual.pa"; then
      echo "va-up: pid $old is ours but not answering; stopping it" >&2
      kill -TERM "$old"
      for _ in $(seq 50); do [ "$(awk '{print $3}' "/proc/$old/stat" 2>/dev/null || echo Z)" = Z ] && break; sleep 0.1; done
      [ "$(awk '{print $3}' "/proc/$old/stat" 2>/dev/null || echo Z)" = Z ] || kill -KILL "$old"
      sleep 0.2
    fi
    rm -f "$VA_DIR/run/pid"
  fi
  # --daemonize=yes returns only after virtual.pa ran; '.fail' makes any failing line fatal (rc!=0)
  pulseaudio --daemonize=yes -n -F "$VA_DIR/virtual.pa" \
             --exit-idle-time=-1 --resample-method=soxr-vhq \
             --log-target=file:"$VA_DIR/pulse.log" --log-level=notice \
    || { echo "va-up: pulseaudio failed, log:" >&2; cat "$VA_DIR/pulse.log" >&2; exit 1; }
  # Null sinks render in blocks of up to 2 s until a low-latency client pins them; the loopbacks are
  # that pin and the suspend/resume lines in virtual.pa make it apply at once.  Probe that a 10 ms
  # recording gets data promptly from both the mic and the speaker monitor.
  ok=0; t0=$(date +%s.%N)
  for _ in $(seq 20); do
    a=$(timeout 0.15 parec -d vmic             --raw --latency-msec=10 2>/dev/null | wc -c) || true
    b=$(timeout 0.15 parec -d vspeaker.monitor --raw --latency-msec=10 2>/dev/null | wc -c) || true
    if [ "${a:-0}" -gt 0 ] && [ "${b:-0}" -gt 0 ]; then ok=1; break; fi
  done
  [ "$ok" = 1 ] || { echo "va-up: probe got no audio from vmic/vspeaker.monitor" >&2; exit 1; }
  echo "va-up: probe ok after $(awk "BEGIN{printf \"%.2f\", $(date +%s.%N)-$t0}") s" >&2
fi

# ---- 4. sanity check --------------------------------------------------------------------------------
pactl list short sinks   | grep -q -w vspeaker || { echo "va-up: vspeaker missing" >&2; exit 1; }
pactl list short sources | grep -q -w vmic     || { echo "va-up: vmic missing" >&2; exit 1; }
echo "va-up: ready; pid $(cat "$VA_DIR/run/pid"); source $VA_DIR/env" >&2
