# Board: joining the access point walnut was started with (--wifi lab:secret): scan() finds it, another
# SSID is not found, a wrong key is refused, the right pair connects — a script's failure paths, tried.
import network

w = network.WLAN(network.STA_IF)
w.active(True)
print('scan', [(n[0], n[2]) for n in w.scan()])
w.connect('elsewhere', 'secret')
print('other ssid', w.status() == network.STAT_NO_AP_FOUND, w.isconnected())
w.connect('lab', 'wrong')
print('wrong key', w.status() == network.STAT_WRONG_PASSWORD, w.isconnected())
w.connect('lab', 'secret')
print('right pair', w.status() == network.STAT_GOT_IP, w.isconnected())
