from django.contrib import admin

from .models import Appointment


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    list_display = ["patient", "doctor", "date", "time", "status", "is_telemedicine"]
    list_filter = ["status", "is_telemedicine", "date"]
    search_fields = ["patient__username", "doctor__username"]
    readonly_fields = ["jitsi_room_name", "created_at", "updated_at"]
    list_select_related = ["patient", "doctor"]
    autocomplete_fields = ["patient", "doctor"]
    date_hierarchy = "date"
    fieldsets = [
        ("Basic", {"fields": ["patient", "doctor", "date", "time", "description", "status"]}),
        ("Telemedicine", {"fields": ["is_telemedicine", "jitsi_room_name"], "classes": ["collapse"]}),
        ("Timestamps", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]
