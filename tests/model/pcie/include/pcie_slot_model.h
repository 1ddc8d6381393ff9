/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A behavioural model of QEMU 7.2's pcie-root-port native hotplug slot (hw/pci/pcie.c), behind a
 * struct pci_mmio ECAM window so libpci/libhotplug drive it exactly as they drive QEMU:
 *  - Slot Capabilities as QEMU sets them (ABP, PCP, AIP, PIP, HPS, HPC, EIP; no MRL sensor;
 *    command completion supported) and Link Capabilities with DLL Link Active reporting;
 *  - every Slot Control write is a command that completes at once (CC set);
 *  - writing PCC = 1 with the power indicator off, on a populated slot whose control was not
 *    already "off", removes the device inside the write (PDS and DLLLA cleared, PDC set);
 *  - a device in a slot whose power controller is off reads all-ones;
 *  - device_add sets PDS, DLLLA and raises PDC + ABP; device_del pushes the button only, is
 *    refused while the power indicator blinks or within 5 s of the previous device_del, and
 *    removes at once when the slot is powered off; DLLSC is never raised;
 *  - Slot Status events are RW1C, and (QEMU's work-around) writing 1 to an event bit that is
 *    not set undoes the whole clear;
 *  - the interrupt (MSI) fires when "HPIE and (status & control & {ABP,PDC,CC})" changes.
 * Beyond QEMU, for the paths real hardware has: a physical pull (surprise removal), a link
 * down with presence still set, a device that never answers config reads, a port that never
 * completes commands, and raw status-bit injection.
 */
#ifndef PCIE_SLOT_MODEL_H
#define PCIE_SLOT_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include <pci/pci.h>

#define PCIE_MODEL_MAX_PORTS 4
#define PCIE_MODEL_PORT_CAP 0x54 /* where QEMU's pcie-root-port has its PCIe capability */
#define PCIE_MODEL_DEL_GUARD_NS 5000000000ull

enum pcie_model_err {
    PCIE_MODEL_OK = 0,
    PCIE_MODEL_ERR_NO_DEVICE, /* device_del on an empty slot / no such port */
    PCIE_MODEL_ERR_OCCUPIED,  /* device_add to a populated slot */
    PCIE_MODEL_ERR_BLINKING,  /* "Hot-unplug failed: guest is busy (power indicator blinking)" */
    PCIE_MODEL_ERR_PENDING,   /* device_del again within 5 s */
};

struct pcie_model;

struct pcie_model_port {
    bool used;
    pci_sid_t sid; /* 00:dd.0 */
    uint8_t sec_bus;
    uint8_t cfg[4096], wmask[4096], w1c[4096];
    /* the device behind it (function 0 of sec_bus) */
    bool dev_present;
    bool dev_dead; /* present, but never answers config reads */
    uint16_t vendor, device;
    bool del_pending;
    uint64_t del_expires;
    /* behaviour switches beyond QEMU */
    bool cc_broken;  /* never sets Command Completed */
    bool keeps_card; /* real hardware: powering off does not remove the card */
    bool port_dead;  /* the port itself reads all-ones (e.g. behind a removed switch) */
    /* interrupt state */
    bool notified;
    unsigned irq_pending; /* MSIs raised and not yet taken by the test */
    /* counters */
    unsigned irqs, sltctl_writes, reverted_clears, removals, plugs, cc_acks;
    unsigned cfg_reads, cfg_writes; /* config accesses to the port and to its device */
    uint64_t last_sltctl_write_ns;
};

struct pcie_model {
    struct pcie_model_port ports[PCIE_MODEL_MAX_PORTS];
    uint8_t bus_end;
    uint64_t now_ns;
    struct pci_mmio mmio;
    struct pci_ecam ecam;
    /* Observers (may be NULL): the device vanished (why: 0 power-off write, 1 pull, 2 device_del
     * on a powered-off slot), power changed, or Slot Control was written. */
    void *hook_ctx;
    void (*on_vanish)(void *ctx, int port, pci_sid_t dev, int why);
    void (*on_power)(void *ctx, int port, bool on);
    void (*on_sltctl)(void *ctx, int port, uint16_t old, uint16_t val);
};

void pcie_model_init(struct pcie_model *m);
/*
 * Adds a root port at 00:dev.0 with secondary bus sec_bus and physical slot number slot. A
 * populated port starts as QEMU leaves it after reset: powered, power indicator on, PDS, DLLLA.
 * Returns the port index or -1.
 */
int pcie_model_add_port(struct pcie_model *m, uint8_t dev, uint8_t sec_bus, uint16_t slot,
                        bool populated, uint16_t vendor, uint16_t device);
/* Sets Slot Capabilities' No Command Completed Support (hardware without CC). */
void pcie_model_set_nccs(struct pcie_model *m, int port, bool nccs);

/* QMP */
int pcie_model_device_add(struct pcie_model *m, int port, uint16_t vendor, uint16_t device);
int pcie_model_device_del(struct pcie_model *m, int port);

/* Physical events QEMU cannot produce. */
void pcie_model_push_button(struct pcie_model *m, int port);
void pcie_model_pull(struct pcie_model *m, int port);
void pcie_model_link_down(struct pcie_model *m, int port);
void pcie_model_inject(struct pcie_model *m, int port, uint16_t status_events);

/* Takes one pending interrupt of the port; false if none. */
bool pcie_model_take_irq(struct pcie_model *m, int port);

/* Register views for assertions. */
uint16_t pcie_model_sltctl(const struct pcie_model *m, int port);
uint16_t pcie_model_sltsta(const struct pcie_model *m, int port);
bool pcie_model_powered(const struct pcie_model *m, int port);
/* The device answers config reads now (present, powered, not dead). */
bool pcie_model_device_answers(const struct pcie_model *m, int port);

#endif /* PCIE_SLOT_MODEL_H */
