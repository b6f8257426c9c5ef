"""The hardware side: PC/SC transport, APDUs, secure messaging, PACE/BAC,
chip and active authentication, file reading, the virtual card.

Nothing here imports ``ekyc`` or ``api``: a reader runs on a kiosk without the
server.
"""
