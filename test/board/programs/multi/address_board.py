# Board: prints the address the network module reports, then ends (several of these start at once).
import network

print('up', network.WLAN(network.STA_IF).ifconfig()[0])
