#!/usr/bin/python3
# A stand-in for the desktop's lock announcers, for kr's tests: it owns
# org.freedesktop.ScreenSaver on the session bus and org.freedesktop.login1
# on the system bus (both private buses a test started), answers logind's
# GetSessionByPID and GetSession with one session, and emits on command:
# each line on stdin names a signal (screen, unscreen, lock, sleep,
# switch); "sent NAME" on stdout says it went out.
#
# With --impostor NAME it owns nothing: it sends that one signal, with the
# same path, interface and member, from a connection of its own, and exits.
import sys

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

SESSION_PATH = "/org/freedesktop/login1/session/_31"


class ScreenSaver(dbus.service.Object):
    @dbus.service.signal("org.freedesktop.ScreenSaver", signature="b")
    def ActiveChanged(self, active):
        pass


class Manager(dbus.service.Object):
    @dbus.service.method("org.freedesktop.login1.Manager", in_signature="u", out_signature="o")
    def GetSessionByPID(self, pid):
        return dbus.ObjectPath(SESSION_PATH)

    @dbus.service.method("org.freedesktop.login1.Manager", in_signature="s", out_signature="o")
    def GetSession(self, sid):
        return dbus.ObjectPath(SESSION_PATH)

    @dbus.service.signal("org.freedesktop.login1.Manager", signature="b")
    def PrepareForSleep(self, going):
        pass


class Session(dbus.service.Object):
    @dbus.service.signal("org.freedesktop.login1.Session", signature="")
    def Lock(self):
        pass

    @dbus.service.signal("org.freedesktop.DBus.Properties", signature="sa{sv}as")
    def PropertiesChanged(self, iface, changed, invalidated):
        pass


def main():
    DBusGMainLoop(set_as_default=True)
    session = dbus.SessionBus()
    system = dbus.SystemBus()
    impostor = len(sys.argv) == 3 and sys.argv[1] == "--impostor"
    names = [] if impostor else [
        dbus.service.BusName("org.freedesktop.ScreenSaver", session, do_not_queue=True),
        dbus.service.BusName("org.freedesktop.login1", system, do_not_queue=True),
    ]
    saver = ScreenSaver(session, "/org/freedesktop/ScreenSaver")
    manager = Manager(system, "/org/freedesktop/login1")
    sess = Session(system, SESSION_PATH)
    emit = {
        "screen": lambda: saver.ActiveChanged(True),
        "unscreen": lambda: saver.ActiveChanged(False),
        "lock": lambda: sess.Lock(),
        "sleep": lambda: manager.PrepareForSleep(True),
        "switch": lambda: sess.PropertiesChanged(
            "org.freedesktop.login1.Session", {"Active": dbus.Boolean(False, variant_level=1)}, dbus.Array([], signature="s")),
    }
    if impostor:
        emit[sys.argv[2]]()
        session.flush()
        system.flush()
        return
    loop = GLib.MainLoop()

    def on_line(source, cond):
        line = sys.stdin.readline()
        if not line:
            loop.quit()
            return False
        what = line.strip()
        emit[what]()
        session.flush()
        system.flush()
        print("sent " + what, flush=True)
        return True

    GLib.io_add_watch(sys.stdin, GLib.IO_IN | GLib.IO_HUP, on_line)
    print("ready", flush=True)
    loop.run()
    del names


main()
