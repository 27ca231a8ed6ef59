# network for the walnut board: WLAN is the TAP-backed interface (docs/usocket.md "network.WLAN"). connect()
# accepts any network (or checks a configured one) and returns once the board has its address, static or by
# DHCP; ifconfig() and config() read and set the interface through the bridge.
import _walnut as _w
import _walnutconst as _k
from usocket import _c, _str

STA_IF = 0
AP_IF = 1
AUTH_OPEN = 0
AUTH_WEP = 1
AUTH_WPA_PSK = 2
AUTH_WPA2_PSK = 3
AUTH_WPA_WPA2_PSK = 4
AUTH_PSK = AUTH_WPA2_PSK
STAT_IDLE = _k.STAT_IDLE
STAT_CONNECTING = _k.STAT_CONNECTING
STAT_NO_IP = _k.STAT_NO_IP
STAT_GOT_IP = _k.STAT_GOT_IP
STAT_CONNECT_FAIL = _k.STAT_CONNECT_FAIL
STAT_NO_AP_FOUND = _k.STAT_NO_AP_FOUND
STAT_WRONG_PASSWORD = _k.STAT_WRONG_PASSWORD

_state = {"active": False, "status": STAT_IDLE, "ssid": ""}


def hostname(name=None):
    if name is not None:
        _str(name)
    return "walnut"


class WLAN:
    def __init__(self, interface_id=STA_IF):
        if interface_id not in (STA_IF, AP_IF):
            raise ValueError("invalid interface")
        self._if = interface_id

    def active(self, is_active=None):
        if is_active is None:
            return _state["active"]
        _state["active"] = bool(is_active)
        if not is_active:
            _state["status"] = STAT_IDLE

    def connect(self, ssid=None, key=None, *, bssid=None, security=None):
        ssid = None if ssid is None else _str(ssid)
        key = None if key is None else _str(key)
        _state["active"] = True
        _state["ssid"] = ssid or ""
        _state["status"] = STAT_CONNECTING
        try:
            _c(_k.OP_NET_CONNECT, 0, ssid, key)
        except OSError:
            _state["status"] = STAT_CONNECT_FAIL
            raise
        _state["status"] = _w.value2()

    def disconnect(self):
        _state["status"] = STAT_IDLE

    def isconnected(self):
        return _state["status"] == STAT_GOT_IP

    def status(self, param=None):
        if param == "rssi":
            return -40
        if param is not None:
            raise ValueError("unknown status param")
        return _state["status"]

    def scan(self):
        # (ssid, bssid, channel, RSSI, security, hidden): the --wifi access point, if walnut was given one.
        _c(_k.OP_NET_SCAN)
        ssid = _w.string()
        if not ssid:
            return []
        return [(ssid.encode(), b"\x02\x00\x00\x00\x00\x01", 6, -40, AUTH_WPA2_PSK, False)]

    def ifconfig(self, config=None):
        if config is None:
            _c(_k.OP_NET_IFCONFIG)
            return tuple(_w.string().split(","))
        if config == "dhcp":
            _c(_k.OP_NET_DHCP)
            return
        if not isinstance(config, (tuple, list)) or len(config) != 4:
            raise TypeError("ifconfig needs a tuple (ip, netmask, gateway, dns)")
        _c(_k.OP_NET_SET, 0, ",".join(_str(x) for x in config))

    def config(self, *args, **kwargs):
        if kwargs:
            return
        if not args:
            if not self.isconnected():
                return "0.0.0.0"
            return self.ifconfig()[0]
        p = args[0]
        if p == "mac":
            _c(_k.OP_NET_MAC)
            return bytes(int(h, 16) for h in _w.string().split(":"))
        if p in ("ssid", "essid"):
            return _state["ssid"]
        if p == "hostname":
            return "walnut"
        raise ValueError("unknown config param")
